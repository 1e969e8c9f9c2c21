/**
 * Node-only entry (`@gmr-conv/core/node`): model files on disk, and WebGPU through Dawn (registerNodeWebGPU).
 *
 * Importing this module registers the `file://` save/load routers (once), so
 * `model.save('file:///tmp/m')` and `tf.loadLayersModel('file:///tmp/m/model.json')` work
 * in Node without tfjs-node. Use `fileSystem(path)` for an explicit handler instead.
 */
import { registerFileSystemRouters } from './register.js';

export {
  fileSystem,
  NodeFileSystem,
  GMRModelFileError,
  MODEL_JSON_FILENAME,
  WEIGHTS_BIN_FILENAME,
  PREVIOUS_PREFIX,
} from './file_system_io.js';
export { FILE_SCHEME, fileSystemRouter, registerFileSystemRouters } from './register.js';
export {
  registerNodeWebGPU,
  releaseNodeWebGPU,
  SWIFTSHADER_ICD,
  type NodeWebGPUStatus,
  type DawnAdapterKind,
} from './webgpu_dawn.js';

registerFileSystemRouters();
