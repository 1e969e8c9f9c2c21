/**
 * Node file-system IOHandler for tfjs models: `model.json` + `weights.bin` in a folder (the format
 * `@tensorflow/tfjs-node` writes), without tfjs-node (its native install cannot be done here).
 *
 * Saving is crash-safe. Both files are written to temporary files in the same folder and fsynced.
 * Two renames can never be one atomic step, so before the first rename the current pair is
 * hard-linked to `.gmr-previous.model.json` / `.gmr-previous.weights.bin`; while that pair
 * exists the loader uses it. A kill at any moment therefore loads as the old or the new model,
 * never a mix. Other tfjs loaders do not know this convention: right after a crash they may see
 * old model.json with new weights.bin until the next successful save here.
 *
 * One writer per folder at a time: saves within one process are queued, saves from several
 * processes into the same folder are not coordinated.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

export const MODEL_JSON_FILENAME = 'model.json';
export const WEIGHTS_BIN_FILENAME = 'weights.bin';
/** Prefix of the recovery pair kept during a save (see the module comment). */
export const PREVIOUS_PREFIX = '.gmr-previous.';
const TEMP_PREFIX = '.gmr-tmp.';
const TEMP_RE = /^\.gmr-tmp\.(\d+)\.[0-9a-f]+\.(model\.json|weights\.bin)$/;

/** Error for a model file that cannot be read or written; `file` is the path at fault. */
export class GMRModelFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'GMRModelFileError';
    this.file = file;
  }
}

type Spec = tf.io.WeightsManifestEntry;

// Maps, not object literals: a manifest dtype like "constructor" must not hit Object.prototype.
const DTYPE_BYTES = new Map<unknown, number>([
  ['float32', 4],
  ['int32', 4],
  ['bool', 1],
  ['complex64', 8],
]);
const QUANT_BYTES = new Map<unknown, number>([
  ['uint8', 1],
  ['uint16', 2],
  ['float16', 2],
]);

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Accepts `file://` URLs too, like tfjs-node: the prefix is stripped, relative paths stay relative. */
function stripScheme(path: string): string {
  return path.startsWith('file://') ? path.slice('file://'.length) : path;
}

/**
 * Bytes of one spec, or null for a string weight (length-prefixed, so only the data tells).
 * Throws on shapes, dtypes or quantizations that decodeWeights would misread.
 */
function fixedSpecBytes(spec: Spec, where: string): number | null {
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
    throw new GMRModelFileError(where, `weights manifest entry ${JSON.stringify(spec)} has no name`);
  }
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new GMRModelFileError(where, `weight "${spec.name}" has invalid shape ${JSON.stringify(spec.shape)}`);
  }
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  if (q != null) {
    const qBytes = QUANT_BYTES.get(q.dtype);
    if (qBytes === undefined) {
      throw new GMRModelFileError(
        where,
        `weight "${spec.name}" uses quantization dtype ${JSON.stringify(q.dtype)}; supported: uint8, uint16, float16`,
      );
    }
    if (q.dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number')) {
      throw new GMRModelFileError(where, `weight "${spec.name}" is ${q.dtype}-quantized but lacks numeric scale/min`);
    }
    if (spec.dtype !== 'float32' && (spec.dtype !== 'int32' || q.dtype === 'float16')) {
      throw new GMRModelFileError(where, `weight "${spec.name}" of dtype ${spec.dtype} cannot be ${q.dtype}-quantized`);
    }
    return size * qBytes;
  }
  if (spec.dtype === 'string') return null;
  const bytes = DTYPE_BYTES.get(spec.dtype);
  if (bytes === undefined) {
    throw new GMRModelFileError(where, `weight "${spec.name}" has unsupported dtype ${JSON.stringify(spec.dtype)}`);
  }
  return size * bytes;
}

/** Total bytes the specs imply, or null when a string weight makes it data-dependent. */
function fixedGroupBytes(specs: Spec[], where: string): number | null {
  let total = 0;
  let fixed = true;
  for (const spec of specs) {
    const b = fixedSpecBytes(spec, where);
    if (b === null) fixed = false;
    else total += b;
  }
  return fixed ? total : null;
}

/** Walks the data as decodeWeights will (string = uint32 LE length + bytes); returns bytes consumed. */
function walkGroupBytes(specs: Spec[], data: Uint8Array, where: string): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const b = fixedSpecBytes(spec, where);
    if (b !== null) {
      offset += b;
    } else {
      const n = spec.shape.reduce((a, c) => a * c, 1);
      for (let i = 0; i < n; i++) {
        if (offset + 4 > data.byteLength) {
          throw new GMRModelFileError(where, `weights end inside string weight "${spec.name}" (truncated file?)`);
        }
        offset += 4 + view.getUint32(offset, true);
      }
    }
    if (offset > data.byteLength) {
      throw new GMRModelFileError(
        where,
        `weights hold ${data.byteLength} bytes but the manifest needs more than that by weight "${spec.name}" (truncated file?)`,
      );
    }
  }
  return offset;
}

function isInside(root: string, candidate: string): boolean {
  const rel = nodePath.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + nodePath.sep) && !nodePath.isAbsolute(rel);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return false;
    throw e;
  }
}

async function unlinkIfExists(p: string): Promise<void> {
  try {
    await fsp.unlink(p);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
}

/** Makes renames/links in `dir` durable; not possible on every platform (Windows), hence ignored there. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = errCode(e);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await fh?.close();
  }
}

/** Writes to a fresh file ('wx': never follows a planted file or symlink) and fsyncs it. */
async function writeDurably(file: string, chunks: Uint8Array[]): Promise<void> {
  const fh = await fsp.open(file, 'wx', 0o644);
  try {
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.byteLength) {
        // 1 GiB slices: one write() call is capped below 2 GiB on Linux.
        const { bytesWritten } = await fh.write(chunk, off, Math.min(chunk.byteLength - off, 1 << 30));
        off += bytesWritten;
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Hard link (instant, same inode); copy where the file system has no links. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch (e) {
    const code = errCode(e);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'ENOSYS') {
      throw e;
    }
    await fsp.copyFile(from, to, fsConstants.COPYFILE_EXCL);
    const fh = await fsp.open(to, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/** Removes temp files left by killed savers (their pid is gone) so crashes do not pile up data. */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    const m = TEMP_RE.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !pidAlive(pid)) await unlinkIfExists(nodePath.join(dir, name));
  }
}

function toChunks(data: tf.io.WeightData | undefined): Uint8Array[] {
  if (data == null) return [];
  const buffers = Array.isArray(data) ? data : [data];
  return buffers.map((b) => new Uint8Array(b));
}

// Saves to one folder from one process run one after another (the protocol assumes one writer).
const saveQueues = new Map<string, Promise<unknown>>();

function queued<T>(key: string, job: () => Promise<T>): Promise<T> {
  const prev = saveQueues.get(key) ?? Promise.resolve();
  const run = prev.then(job, job);
  const tail = run.catch(() => undefined);
  saveQueues.set(key, tail);
  void tail.then(() => {
    if (saveQueues.get(key) === tail) saveQueues.delete(key);
  });
  return run;
}

/** IOHandler reading and writing `model.json` + `weights.bin`; see the module comment. */
export class NodeFileSystem implements tf.io.IOHandler {
  /** Folder (save) or folder / model.json file (load), `file://` prefix removed. */
  readonly path: string;

  constructor(path: string) {
    if (typeof path !== 'string' || stripScheme(path) === '') {
      throw new GMRModelFileError(String(path), 'fileSystem() needs a non-empty folder or model.json path');
    }
    this.path = stripScheme(path);
  }

  /** A path ending in /model.json saves into its folder, so save and load can share one URL. */
  private saveDir(): string {
    const abs = nodePath.resolve(this.path);
    return nodePath.basename(abs) === MODEL_JSON_FILENAME ? nodePath.dirname(abs) : abs;
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const dir = this.saveDir();
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new GMRModelFileError(dir, 'binary (GraphDef) model topologies cannot be saved as model.json');
    }
    const specs = artifacts.weightSpecs ?? [];
    const chunks = toChunks(artifacts.weightData);
    const dataBytes = chunks.reduce((a, c) => a + c.byteLength, 0);
    // Refuse to write a model that this loader would refuse to read.
    const expected = fixedGroupBytes(specs, nodePath.join(dir, WEIGHTS_BIN_FILENAME));
    if (expected !== null && expected !== dataBytes) {
      throw new GMRModelFileError(
        nodePath.join(dir, WEIGHTS_BIN_FILENAME),
        `refusing to save: weight data has ${dataBytes} bytes but the weight specs imply ${expected}`,
      );
    }
    const modelJSON: Record<string, unknown> = {
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BIN_FILENAME], weights: specs }],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    };
    if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
    if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
    if (artifacts.initializerSignature != null) modelJSON.initializerSignature = artifacts.initializerSignature;
    modelJSON.integrity = { sha256: integrityDigest(artifacts.modelTopology, specs, chunks), covers: INTEGRITY_COVERS };
    const jsonBytes = new TextEncoder().encode(JSON.stringify(modelJSON));

    await queued(dir, () => this.commit(dir, chunks, jsonBytes));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  private async commit(dir: string, chunks: Uint8Array[], jsonBytes: Uint8Array): Promise<void> {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (e) {
      throw new GMRModelFileError(dir, `cannot create the model folder: ${describe(e)}`);
    }
    const stat = await fsp.stat(dir);
    if (!stat.isDirectory()) throw new GMRModelFileError(dir, 'exists and is not a folder');
    await removeStaleTemps(dir);

    const modelPath = nodePath.join(dir, MODEL_JSON_FILENAME);
    const weightsPath = nodePath.join(dir, WEIGHTS_BIN_FILENAME);
    const prevModel = nodePath.join(dir, PREVIOUS_PREFIX + MODEL_JSON_FILENAME);
    const prevWeights = nodePath.join(dir, PREVIOUS_PREFIX + WEIGHTS_BIN_FILENAME);
    const tag = `${TEMP_PREFIX}${process.pid}.${Math.floor(Math.random() * 2 ** 48).toString(16)}.`;
    const tmpWeights = nodePath.join(dir, tag + WEIGHTS_BIN_FILENAME);
    const tmpModel = nodePath.join(dir, tag + MODEL_JSON_FILENAME);

    let createdPrev = false;
    let renamedWeights = false;
    let renamedModel = false;
    try {
      await writeDurably(tmpWeights, chunks);
      await writeDurably(tmpModel, [jsonBytes]);

      if (!(await exists(prevModel))) {
        // Snapshot the current pair, weights first: `.gmr-previous.model.json` existing implies its
        // weights are in place.
        createdPrev = true;
        await unlinkIfExists(prevWeights);
        if (await exists(weightsPath)) await linkOrCopy(weightsPath, prevWeights);
        if (await exists(modelPath)) {
          await fsyncDir(dir);
          await linkOrCopy(modelPath, prevModel);
        }
      } else if (!(await exists(prevWeights)) && (await exists(weightsPath))) {
        // An earlier save died: its previous pair is the last good model and stays until this one
        // commits. Without its weights file, a rollback had already put them back as weights.bin.
        await linkOrCopy(weightsPath, prevWeights);
      }
      await fsyncDir(dir);

      // Weights first, model.json last: model.json is what readers look for.
      await fsp.rename(tmpWeights, weightsPath);
      renamedWeights = true;
      await fsyncDir(dir);
      await fsp.rename(tmpModel, modelPath);
      renamedModel = true;
      await fsyncDir(dir);
    } catch (e) {
      await unlinkIfExists(tmpWeights).catch(() => undefined);
      await unlinkIfExists(tmpModel).catch(() => undefined);
      if (renamedModel) {
        // Only the final fsync failed: the previous pair stays, so loads keep returning the old model.
        throw new GMRModelFileError(dir, `the new model was written but could not be made durable: ${describe(e)}`);
      }
      if (renamedWeights) {
        await this.rollback(dir, createdPrev).catch(() => undefined);
      } else if (createdPrev) {
        // Nothing was replaced: the snapshot equals the current pair and is just dropped.
        await unlinkIfExists(prevModel).catch(() => undefined);
        await unlinkIfExists(prevWeights).catch(() => undefined);
      }
      throw new GMRModelFileError(dir, `saving failed, the previous model is kept: ${describe(e)}`);
    }
    // Committed: drop the previous pair, model first (its presence is what the loader checks).
    try {
      await unlinkIfExists(prevModel);
      await unlinkIfExists(prevWeights);
      await fsyncDir(dir);
    } catch (e) {
      // Loud, because while .gmr-previous.model.json exists the loader returns the old model.
      throw new GMRModelFileError(
        prevModel,
        `the new model is saved but this recovery copy could not be removed, so loads return the previous model: ${describe(e)}`,
      );
    }
  }

  /**
   * After a failed save that replaced weights.bin but not model.json: put the previous weights back.
   * Every step leaves a loadable folder (the loader prefers the previous pair while it exists).
   */
  private async rollback(dir: string, createdPrev: boolean): Promise<void> {
    const modelPath = nodePath.join(dir, MODEL_JSON_FILENAME);
    const weightsPath = nodePath.join(dir, WEIGHTS_BIN_FILENAME);
    const prevModel = nodePath.join(dir, PREVIOUS_PREFIX + MODEL_JSON_FILENAME);
    const prevWeights = nodePath.join(dir, PREVIOUS_PREFIX + WEIGHTS_BIN_FILENAME);
    if (await exists(prevWeights)) await fsp.rename(prevWeights, weightsPath);
    else await unlinkIfExists(weightsPath); // there was no weights.bin before this save
    await fsyncDir(dir);
    // A snapshot taken by this save is a link to the untouched model.json; an older one replaces it.
    if (createdPrev) await unlinkIfExists(prevModel);
    else await fsp.rename(prevModel, modelPath);
    await fsyncDir(dir);
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const jsonPath = await this.resolveModelJson();
    const dir = nodePath.dirname(jsonPath);
    // An interrupted save leaves the previous pair; it is the last complete model.
    const prevModel = nodePath.join(dir, PREVIOUS_PREFIX + nodePath.basename(jsonPath));
    if (await exists(prevModel)) {
      const prevWeights = nodePath.join(dir, PREVIOUS_PREFIX + WEIGHTS_BIN_FILENAME);
      const weightsPath = nodePath.join(dir, WEIGHTS_BIN_FILENAME);
      const redirect = (await exists(prevWeights)) ? new Map([[weightsPath, prevWeights]]) : new Map<string, string>();
      return readModel(prevModel, dir, redirect);
    }
    return readModel(jsonPath, dir, new Map());
  }

  private async resolveModelJson(): Promise<string> {
    const abs = nodePath.resolve(this.path);
    let stat;
    try {
      stat = await fsp.stat(abs);
    } catch (e) {
      if (errCode(e) === 'ENOENT') throw new GMRModelFileError(abs, 'no such model.json file or model folder');
      throw new GMRModelFileError(abs, `cannot read: ${describe(e)}`);
    }
    if (!stat.isDirectory()) return abs;
    const jsonPath = nodePath.join(abs, MODEL_JSON_FILENAME);
    if (!(await exists(jsonPath)) && !(await exists(nodePath.join(abs, PREVIOUS_PREFIX + MODEL_JSON_FILENAME)))) {
      throw new GMRModelFileError(jsonPath, 'missing: the folder holds no model.json');
    }
    return jsonPath;
  }
}

/** Reads and checks a model.json and its weight files; `redirect` maps a weights path to the file to read. */
async function readModel(jsonPath: string, dir: string, redirect: Map<string, string>): Promise<tf.io.ModelArtifacts> {
  let text: string;
  try {
    text = await fsp.readFile(jsonPath, 'utf8');
  } catch (e) {
    if (errCode(e) === 'ENOENT') throw new GMRModelFileError(jsonPath, 'missing file');
    throw new GMRModelFileError(jsonPath, `cannot read: ${describe(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new GMRModelFileError(jsonPath, `invalid JSON (${describe(e)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GMRModelFileError(jsonPath, 'is not a JSON object');
  }
  const modelJSON = parsed as tf.io.ModelJSON;
  if (modelJSON.modelTopology == null) {
    throw new GMRModelFileError(jsonPath, 'has no modelTopology: not a tfjs model.json');
  }
  if (!Array.isArray(modelJSON.weightsManifest)) {
    throw new GMRModelFileError(jsonPath, 'has no weightsManifest array: not a tfjs model.json');
  }
  return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
    const [specs, data] = await readWeights(manifest, jsonPath, dir, redirect);
    checkIntegrity(jsonPath, modelJSON, specs, new Uint8Array(data));
    return [specs, data];
  });
}

const INTEGRITY_COVERS = 'modelTopology, the weight specs and the weight bytes';

/**
 * SHA-256 over the topology, the weight specs (as JSON) and the weight bytes: written by save() into model.json
 * as `integrity`, checked by load(), so a flipped bit in weights.bin or an edited topology is refused instead of
 * predicting silently wrong values. Files without it (written elsewhere) load as before.
 */
function integrityDigest(topology: unknown, specs: unknown, chunks: Uint8Array[]): string {
  const h = createHash('sha256').update(JSON.stringify(topology)).update(JSON.stringify(specs));
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

function checkIntegrity(jsonPath: string, modelJSON: tf.io.ModelJSON, specs: Spec[], data: Uint8Array): void {
  const integrity = (modelJSON as unknown as { integrity?: { sha256?: unknown } }).integrity;
  if (integrity == null) return;
  if (typeof integrity.sha256 !== 'string')
    throw new GMRModelFileError(
      jsonPath,
      `has an integrity field without a sha256 string: ${JSON.stringify(integrity)}`,
    );
  const actual = integrityDigest(modelJSON.modelTopology, specs, [data]);
  if (actual !== integrity.sha256) {
    throw new GMRModelFileError(
      jsonPath,
      `checksum mismatch: the SHA-256 of ${INTEGRITY_COVERS} is ${actual.slice(0, 16)}…, model.json says ${integrity.sha256.slice(0, 16)}…; the model is damaged`,
    );
  }
}

async function readWeights(
  manifest: tf.io.WeightsManifestConfig,
  jsonPath: string,
  dir: string,
  redirect: Map<string, string>,
): Promise<[Spec[], ArrayBuffer]> {
  let realDir: string;
  try {
    realDir = await fsp.realpath(dir);
  } catch (e) {
    throw new GMRModelFileError(dir, `cannot resolve the model folder: ${describe(e)}`);
  }
  type WeightsFile = { path: string; real: string; size: number };
  const groups: { files: WeightsFile[]; specs: Spec[]; fixed: number | null }[] = [];
  for (const [gi, group] of manifest.entries()) {
    const where = `${jsonPath} (weightsManifest[${gi}])`;
    if (group === null || typeof group !== 'object' || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new GMRModelFileError(where, 'each weights manifest group needs `paths` and `weights` arrays');
    }
    const files: WeightsFile[] = [];
    for (const p of group.paths) {
      files.push(await checkWeightsPath(p, jsonPath, dir, realDir, redirect));
    }
    const fixed = fixedGroupBytes(group.weights, where);
    if (files.length === 0 && (fixed === null || fixed > 0)) {
      throw new GMRModelFileError(where, 'lists weights but no weight files');
    }
    const actual = files.reduce((a, f) => a + f.size, 0);
    // Checked from the sizes alone, before reading anything large.
    if (fixed !== null && actual !== fixed) {
      throw new GMRModelFileError(
        files.length === 1 ? files[0]!.path : files.map((f) => f.path).join(' + '),
        `holds ${actual} bytes but ${jsonPath} specifies ${fixed} bytes of weights ` +
          `(${actual < fixed ? 'truncated' : 'too long'}; sizes: ${files.map((f) => f.size).join(' + ')})`,
      );
    }
    groups.push({ files, specs: group.weights, fixed });
  }

  const total = groups.reduce((a, g) => a + g.files.reduce((b, f) => b + f.size, 0), 0);
  const out = new Uint8Array(total);
  let offset = 0;
  const specs: Spec[] = [];
  for (const g of groups) {
    const start = offset;
    for (const f of g.files) {
      await readExactly(f.real, out.subarray(offset, offset + f.size)); // the path that was checked
      offset += f.size;
    }
    if (g.fixed === null) {
      const where = g.files.map((f) => f.path).join(' + ');
      const used = walkGroupBytes(g.specs, out.subarray(start, offset), where);
      if (used !== offset - start) {
        throw new GMRModelFileError(where, `holds ${offset - start} bytes but the weight specs use ${used} (too long)`);
      }
    }
    specs.push(...g.specs);
  }
  return [specs, out.buffer];
}

/** Reads straight into `into` (no copy, no readFile 2 GiB cap); the file must still have that size. */
async function readExactly(file: string, into: Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    let off = 0;
    while (off < into.byteLength) {
      const { bytesRead } = await fh.read(into, off, Math.min(into.byteLength - off, 1 << 30), off);
      if (bytesRead === 0) throw new GMRModelFileError(file, 'shrank while being read');
      off += bytesRead;
    }
    const { bytesRead } = await fh.read(new Uint8Array(1), 0, 1, off);
    if (bytesRead !== 0) throw new GMRModelFileError(file, 'grew while being read');
  } finally {
    await fh.close();
  }
}

/** Refuses absolute paths, paths out of the folder (also through symlinks) and missing files. */
async function checkWeightsPath(
  p: unknown,
  jsonPath: string,
  dir: string,
  realDir: string,
  redirect: Map<string, string>,
): Promise<{ path: string; real: string; size: number }> {
  if (typeof p !== 'string' || p === '' || p.includes('\0')) {
    throw new GMRModelFileError(jsonPath, `weights path ${JSON.stringify(p)} is not a usable file name`);
  }
  if (nodePath.isAbsolute(p) || nodePath.posix.isAbsolute(p) || nodePath.win32.isAbsolute(p)) {
    throw new GMRModelFileError(
      jsonPath,
      `weights path ${JSON.stringify(p)} is absolute; only paths inside the model folder are allowed`,
    );
  }
  const resolved = nodePath.resolve(dir, p);
  if (!isInside(dir, resolved)) {
    throw new GMRModelFileError(jsonPath, `weights path ${JSON.stringify(p)} leaves the model folder ${dir}`);
  }
  const file = redirect.get(resolved) ?? resolved;
  let real: string;
  try {
    real = await fsp.realpath(file);
  } catch (e) {
    if (errCode(e) === 'ENOENT') throw new GMRModelFileError(file, `missing weights file (listed in ${jsonPath})`);
    throw new GMRModelFileError(file, `cannot read: ${describe(e)}`);
  }
  if (!isInside(realDir, real)) {
    throw new GMRModelFileError(file, `is a link to ${real}, outside the model folder ${realDir}`);
  }
  const stat = await fsp.stat(real);
  if (!stat.isFile()) throw new GMRModelFileError(file, 'is not a regular file');
  return { path: file, real, size: stat.size };
}

/**
 * IOHandler for a model folder: `model.save(fileSystem(dir))`, `tf.loadLayersModel(fileSystem(dir))`.
 * Load also takes the path of a model.json file; a `file://` prefix is accepted and stripped.
 * Typed as the class (a `tf.io.IOHandler` whose save and load are both defined).
 */
export function fileSystem(path: string): NodeFileSystem {
  return new NodeFileSystem(path);
}
