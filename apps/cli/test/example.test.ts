/** gmr make-example: a seeded orientation-less image-folder dataset (the generator), and the shared progress bar. */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, readImageFolderSplits, rotate, type Image } from '@gmr-conv/datasets';
import { EXAMPLE_CLASSES, PSF_SIGMA, makeExample, renderCell } from '../src/example.js';
import { progressBar, progressWanted } from '../src/progress.js';

const root = mkdtempSync(join(tmpdir(), 'gmr-example-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** sha256 of every file under a folder, keyed by relative path. */
function digests(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) Object.assign(out, digests(dir, r));
    else
      out[r] = createHash('sha256')
        .update(new Uint8Array(readFileSync(join(dir, r))))
        .digest('hex');
  }
  return out;
}

describe('gmr make-example', () => {
  it('writes train/ and test/ class folders of PNGs that the folder reader reads back, the same for a seed', async () => {
    const a = join(root, 'a');
    const r = makeExample(a, { seed: 3, trainPerClass: 3, testPerClass: 2, size: 24 });
    expect(r.counts).toEqual({ train: 12, test: 8 });
    for (const split of ['train', 'test']) expect(readdirSync(join(a, split)).sort()).toEqual([...EXAMPLE_CLASSES]);
    const s = await readImageFolderSplits(a);
    expect(s.train).toMatchObject({ count: 12, height: 24, width: 24, channels: 3, classNames: [...EXAMPLE_CLASSES] });
    expect(Array.from(s.test.labels)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(JSON.parse(readFileSync(join(a, 'example.json'), 'utf8'))).toMatchObject({
      seed: 3,
      trainPerClass: 3,
      testPerClass: 2,
      size: 24,
    });
    // the same seed gives the same bytes; another seed other images; a larger set begins with the smaller one
    const b = join(root, 'b');
    makeExample(b, { seed: 3, trainPerClass: 3, testPerClass: 2, size: 24 });
    expect(digests(b)).toEqual(digests(a));
    const c = join(root, 'c');
    makeExample(c, { seed: 4, trainPerClass: 3, testPerClass: 2, size: 24 });
    expect(digests(c)['train/round/00000.png']).not.toBe(digests(a)['train/round/00000.png']);
    const d = join(root, 'd');
    makeExample(d, { seed: 3, trainPerClass: 4, testPerClass: 2, size: 24 });
    expect(digests(d)['train/spindle/00002.png']).toBe(digests(a)['train/spindle/00002.png']);
    expect(existsSync(join(d, 'train', 'spindle', '00003.png'))).toBe(true);
  });

  it('draws what each class promises: two nuclei, granules, an elongated cell', () => {
    const S = 48;
    /** blue-dominant (nucleus) and yellow (granule) pixels, and the cell's extent along its long and short axes */
    const measure = (kind: (typeof EXAMPLE_CLASSES)[number], seed: number) => {
      const px = renderCell(kind, S, new Rng(seed));
      let nucleus = 0;
      let granule = 0;
      const cell: [number, number][] = [];
      for (let i = 0; i < S * S; i++) {
        const [r, g, b] = [px[4 * i], px[4 * i + 1], px[4 * i + 2]];
        if (b > 120 && b > g) nucleus++;
        if (r > 110 && g > 150) granule++;
        if (g > 60 || b > 60) cell.push([i % S, Math.floor(i / S)]);
      }
      // elongation from the second moments of the cell's pixels
      const mx = cell.reduce((a, p) => a + p[0], 0) / cell.length;
      const my = cell.reduce((a, p) => a + p[1], 0) / cell.length;
      const [xx, yy, xy] = cell.reduce(
        (a, [x, y]) => [a[0] + (x - mx) ** 2, a[1] + (y - my) ** 2, a[2] + (x - mx) * (y - my)],
        [0, 0, 0],
      );
      const t = Math.sqrt(((xx - yy) / 2) ** 2 + xy ** 2);
      const elongation = Math.sqrt(((xx + yy) / 2 + t) / ((xx + yy) / 2 - t));
      return { nucleus, granule, elongation };
    };
    // nucleus sizes vary from cell to cell: two nuclei show as about twice the nucleus area over several cells
    const area = (kind: 'round' | 'binucleate') =>
      Array.from({ length: 8 }, (_, seed) => measure(kind, seed).nucleus).reduce((a, b) => a + b, 0);
    expect(area('binucleate')).toBeGreaterThan(1.6 * area('round'));
    for (let seed = 0; seed < 5; seed++) {
      const round = measure('round', seed);
      expect(round.granule).toBe(0);
      expect(measure('granular', seed).granule).toBeGreaterThan(3);
      expect(measure('spindle', seed).elongation).toBeGreaterThan(1.6);
      expect(round.elongation).toBeLessThan(1.5);
    }
  });

  it('images a cell as a microscope: band-limited by the PSF, noise on a background at 0 like the zero fill', () => {
    const S = 32;
    /** RGB of a render in [0, 1], as the pipelines feed it */
    const asImage = (px: Uint8Array): Image => {
      const data = new Float32Array(S * S * 3);
      for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) data[3 * i + c] = px[4 * i + c] / 255;
      return { data, height: S, width: S, channels: 3 };
    };
    /** mean absolute change under the protocol's bilinear resampling without a net rotation (10° and back) */
    const resamplingChange = (img: Image) => {
      const back = rotate(rotate(img, 10), -10);
      let d = 0;
      let n = 0;
      // the inscribed disc only: outside it the round trip zero-fills corners
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          if ((y - (S - 1) / 2) ** 2 + (x - (S - 1) / 2) ** 2 > (S / 2 - 3) ** 2) continue;
          for (let c = 0; c < 3; c++) d += Math.abs(back.data[3 * (y * S + x) + c] - img.data[3 * (y * S + x) + c]);
          n += 3;
        }
      return d / n;
    };
    for (const kind of EXAMPLE_CLASSES)
      for (let seed = 0; seed < 3; seed++) {
        const imaged = asImage(renderCell(kind, S, new Rng(seed), { psfSigma: PSF_SIGMA, noise: false }));
        const sharp = asImage(renderCell(kind, S, new Rng(seed), { psfSigma: 0, noise: false }));
        // the sharp scene loses its edges to the resampling; the imaged cell, already blurred by the PSF, much less
        // (granules are drawn as the PSF's image either way, so that class is left out of this comparison)
        if (kind !== 'granular') expect(resamplingChange(imaged)).toBeLessThan(0.65 * resamplingChange(sharp));
        // the noise draws do not change the cell: the noisy image is the noise-free one plus small noise
        const noisy = asImage(renderCell(kind, S, new Rng(seed)));
        let d = 0;
        for (let i = 0; i < noisy.data.length; i++) d += Math.abs(noisy.data[i] - imaged.data[i]);
        expect(d / noisy.data.length).toBeGreaterThan(0.5 / 255);
        expect(d / noisy.data.length).toBeLessThan(8 / 255);
        // the background (the 2-pixel border, where at most a cell's tip reaches) averages under 3 of 255: about the
        // zero fill's level (a camera offset of 8 would fail this)
        let bg = 0;
        let nb = 0;
        for (let y = 0; y < S; y++)
          for (let x = 0; x < S; x++)
            if (Math.min(x, y, S - 1 - x, S - 1 - y) < 2) {
              for (let c = 0; c < 3; c++) bg += noisy.data[3 * (y * S + x) + c];
              nb += 3;
            }
        expect((bg / nb) * 255).toBeLessThan(3);
      }
  });

  it('refuses a folder that already holds a dataset and bad sizes, naming them', () => {
    expect(() => makeExample(join(root, 'a'), { seed: 3, trainPerClass: 1, testPerClass: 1, size: 24 })).toThrow(
      /a\/train already holds files: choose an empty or new folder/,
    );
    expect(() => makeExample(join(root, 'e'), { size: 8 })).toThrow(
      /--size must be an integer in 16\.\.256 \(pixels\), got 8/,
    );
    expect(() => makeExample(join(root, 'e'), { trainPerClass: 0 })).toThrow(
      /--train-per-class must be an integer ≥ 1, got 0/,
    );
  });
});

describe('progress bars', () => {
  /** A stream that records what is written; `tty` says whether it claims to be a terminal. */
  function stream(tty: boolean) {
    const chunks: string[] = [];
    const s = new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }) as unknown as NodeJS.WriteStream & { text: () => string };
    Object.assign(s, {
      isTTY: tty,
      columns: 200,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      text: () => chunks.join(''),
    });
    return s;
  }

  it('draws count, rate and ETA on a terminal, and nothing off one or when turned off', () => {
    const tty = stream(true);
    const bar = progressBar('reading', 10, { unit: 'img', stream: tty, fields: { loss: '-' } });
    bar.update(4, { loss: '0.5000' });
    bar.update(10, { loss: '0.2500' });
    bar.stop();
    expect(tty.text()).toMatch(/reading .*100% \| 10\/10 img \| [\d.]+ img\/s \| ETA \S+ \| loss 0\.2500/);
    // a total learnt late (a reader counting its files): nothing until the first update that gives it
    const late = stream(true);
    const lazy = progressBar('reading', 0, { unit: 'file', stream: late });
    expect(late.text()).toBe('');
    lazy.update(3, undefined, 6);
    lazy.stop();
    expect(late.text()).toMatch(/reading .*\| 3\/6 file \| [\d.]+ file\/s/);
    for (const [s, enabled] of [
      [stream(false), true],
      [stream(true), false],
    ] as const) {
      expect(progressWanted(enabled, s)).toBe(false);
      const quiet = progressBar('reading', 10, { unit: 'img', stream: s, enabled });
      quiet.update(5);
      quiet.stop();
      expect(s.text()).toBe('');
    }
  });
});
