import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { fail } from './errors.js';

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips `bytes` when they are gzip (by magic number), else returns them as they are. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) {
    if (file.endsWith('.gz')) fail(file, 'named .gz but does not start with the gzip magic number 1f 8b');
    return bytes;
  }
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    fail(file, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/** Reads a whole file as bytes; a missing file is a DatasetError naming it. */
export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fail(file, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.message})`);
  }
}
