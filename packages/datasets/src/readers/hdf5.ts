/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly; its Node build reads the host file system).
 * PatchCamelyon ships as camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5 with datasets 'x'
 * [N, 96, 96, 3] uint8 and 'y' [N, 1, 1, 1] uint8.
 */
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { fail } from '../errors.js';
import { checkLabelRange } from './labels.js';
import type { ImageSet, NdArray } from '../types.js';

type H5 = typeof import('h5wasm');
let h5: Promise<H5> | null = null;

async function h5wasm(): Promise<H5> {
  if (!h5) {
    h5 = (async () => {
      const mod = (await import('h5wasm/node')) as unknown as { default?: H5 } & H5;
      const lib = (mod.default ?? mod) as H5;
      await lib.ready;
      return lib;
    })();
  }
  return h5;
}

/** The most telling line of an HDF5 error stack: its innermost entry's reason ("#010: … in H5C__load_entry(): incorrect metadata checksum") and major class. */
function diagnosis(lines: string[]): string {
  const entries = lines.filter((l) => /^\s*#\d+:/.test(l));
  const major = lines.filter((l) => /major:/.test(l)).map((l) => l.replace(/^.*major:\s*/, '').trim());
  const reason = entries.length ? entries[entries.length - 1].replace(/^.*\(\):\s*/, '').trim() : '';
  return [major[major.length - 1], reason].filter(Boolean).join(': ');
}

/**
 * Runs `fn` with the library's error stack collected rather than printed; a throw becomes one line naming the file.
 * The Node build of the library writes its 40-line HDF5-DIAG stack straight to file descriptor 2 through
 * fs.writeSync (its host file system layer), so that call is diverted while `fn` runs (synchronously: nothing else
 * can write to stderr meanwhile).
 */
function quietly<T>(file: string, what: string, fn: () => T): T {
  let text = '';
  const write = fs.writeSync;
  fs.writeSync = ((fd: number, buffer: string | ArrayBufferView, ...rest: unknown[]) => {
    if (fd !== 2) return (write as (...a: unknown[]) => number)(fd, buffer, ...rest);
    const [offset, length] = typeof buffer === 'string' ? [0, undefined] : (rest as [number?, number?]);
    const part =
      typeof buffer === 'string'
        ? buffer
        : new TextDecoder().decode(
            new Uint8Array(
              buffer.buffer,
              buffer.byteOffset + (offset ?? 0),
              length ?? buffer.byteLength - (offset ?? 0),
            ),
          );
    text += part;
    return typeof buffer === 'string' ? Buffer.byteLength(buffer) : (length ?? buffer.byteLength - (offset ?? 0));
  }) as typeof fs.writeSync;
  try {
    return fn();
  } catch (e) {
    const why = diagnosis(text.split('\n')) || (e as Error).message;
    return fail(file, `${what} (HDF5: ${why})`);
  } finally {
    fs.writeSync = write;
  }
}

/** The h5wasm module, initialised (for writing fixtures or reading other layouts). */
export async function getH5wasm(): Promise<H5> {
  return h5wasm();
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]; // \x89HDF\r\n\x1a\n

/** Checks the HDF5 format signature (at offset 0, 512, 1024, 2048, …) before handing the file to the library. */
async function checkSignature(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(file, code === 'ENOENT' ? 'file not found' : `cannot read (${(e as Error).message})`);
  }
  try {
    const { size } = await fh.stat();
    const buf = new Uint8Array(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      const { bytesRead } = await fh.read(buf, 0, 8, offset);
      if (bytesRead === 8 && SIGNATURE.every((b, i) => buf[i] === b)) {
        const sb = new Uint8Array(96);
        const got = (await fh.read(sb, 0, 96, offset)).bytesRead;
        const eof = superblockEof(sb.subarray(0, got));
        if (eof !== null && size < offset + eof) {
          fail(file, `truncated HDF5 file: its superblock says ${offset + eof} bytes, the file has ${size}`);
        }
        return;
      }
    }
    fail(file, 'not an HDF5 file: no HDF5 format signature (\\x89HDF\\r\\n\\x1a\\n) found');
  } finally {
    await fh.close();
  }
}

/** The end-of-file address stored in a superblock (versions 0–3), relative to the base address, or null. */
function superblockEof(sb: Uint8Array): number | null {
  if (sb.length < 12) return null;
  const version = sb[8];
  const view = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
  let offsetSize: number;
  let at: number;
  if (version === 0 || version === 1) {
    offsetSize = sb[13];
    at = 24 + (version === 1 ? 4 : 0) + 2 * offsetSize; // base, free-space, then EOF address
  } else if (version === 2 || version === 3) {
    offsetSize = sb[9];
    at = 12 + 2 * offsetSize; // base, superblock extension, then EOF address
  } else {
    return null;
  }
  if (offsetSize !== 8 && offsetSize !== 4) return null;
  if (at + offsetSize > sb.length) return null;
  const v = offsetSize === 8 ? Number(view.getBigUint64(at, true)) : view.getUint32(at, true);
  return v === Number(0xffffffffffffffffn) || v === 0xffffffff ? null : v;
}

/** Reads one dataset of an HDF5 file. Missing files, non-HDF5 files and missing datasets are errors naming the file. */
export async function readHdf5Dataset(file: string, name: string): Promise<NdArray> {
  await checkSignature(file);
  const lib = await h5wasm();
  const f = quietly(file, 'not an HDF5 file or corrupt', () => new lib.File(file, 'r'));
  try {
    if (!f || f.file_id < 0n) fail(file, 'not an HDF5 file or corrupt (h5wasm could not open it)');
    const keys = quietly(file, 'corrupt or truncated HDF5 file', () => f.keys());
    const ds = quietly(file, `dataset '${name}' cannot be opened: corrupt or truncated`, () => f.get(name));
    if (!ds || !(ds instanceof lib.Dataset))
      fail(file, `no dataset '${name}' (found: ${keys.join(', ') || 'nothing'})`);
    const shape = (ds.shape ?? []) as number[];
    const value: unknown = quietly(file, `dataset '${name}' cannot be read: corrupt or truncated`, () => ds.value);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!ArrayBuffer.isView(value) || (value as unknown as ArrayLike<number>).length !== n) {
      fail(
        file,
        `dataset '${name}' is not a numeric array of shape [${shape.join(', ')}] (dtype ${JSON.stringify(ds.dtype)})`,
      );
    }
    return { shape, dtype: String(ds.dtype), data: value as NdArray['data'] };
  } finally {
    try {
      if (f.file_id >= 0n) f.close();
    } catch {
      /* already closed */
    }
  }
}

/** A PatchCamelyon split from its x and y files (images uint8 [N, H, W, 3], labels 0/1). */
export async function readPcam(xFile: string, yFile: string): Promise<ImageSet> {
  const x = await readHdf5Dataset(xFile, 'x');
  const y = await readHdf5Dataset(yFile, 'y');
  if (!(x.data instanceof Uint8Array) || x.shape.length !== 4)
    fail(xFile, `dataset 'x' must be uint8 [N, H, W, C]; found ${x.dtype} [${x.shape.join(', ')}]`);
  const [count, height, width, channels] = x.shape;
  if (y.shape[0] !== count) fail(yFile, `mismatched counts: ${y.shape[0]} labels for ${count} images in ${xFile}`);
  const per = y.shape.slice(1).reduce((a, b) => a * b, 1);
  if (per !== 1) fail(yFile, `dataset 'y' must hold one label per image; shape [${y.shape.join(', ')}]`);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = Number(y.data[i]);
  checkLabelRange(yFile, labels, 2, 'PatchCamelyon classes 0 (normal) and 1 (metastatic)');
  return { images: x.data, labels, count, height, width, channels, classNames: ['normal', 'metastatic'] };
}
