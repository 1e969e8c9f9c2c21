import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary folder, removed after the file's tests. */
export async function tempDir(prefix = 'gmr-datasets-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A Node Buffer viewed as a plain Uint8Array (same memory). */
export function u8(b: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
