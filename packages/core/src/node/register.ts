/**
 * `file://` routes for `model.save(url)` and `tf.loadLayersModel(url)` in Node, which tfjs-core
 * only gets from tfjs-node (not installable here).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fileSystem } from './file_system_io.js';

export const FILE_SCHEME = 'file://';

/** Router for tfjs' registry: a handler for `file://…` URLs, null for anything else. */
export function fileSystemRouter(url: string | string[]): tf.io.IOHandler | null {
  if (typeof url !== 'string' || !url.startsWith(FILE_SCHEME)) return null;
  return fileSystem(url.slice(FILE_SCHEME.length));
}

// tfjs types routers as never returning null, yet its registry skips null: that is the contract.
type IORouter = Parameters<typeof tf.io.registerSaveRouter>[0];
const router = fileSystemRouter as IORouter;

let registered = false;

/**
 * Registers the `file://` save and load routers once. Returns true when this call registered
 * something. A route some other code already serves (another copy of this package, tfjs-node)
 * is left alone: two handlers for one URL make tfjs refuse to save or load.
 */
export function registerFileSystemRouters(): boolean {
  if (registered) return false;
  registered = true;
  const probe = `${FILE_SCHEME}/`;
  let did = false;
  if (tf.io.getSaveHandlers(probe).length === 0) {
    tf.io.registerSaveRouter(router);
    did = true;
  }
  if (tf.io.getLoadHandlers(probe).length === 0) {
    tf.io.registerLoadRouter(router);
    did = true;
  }
  return did;
}
