import { mkdir, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeVoxelDataset, parseOff, readModelNet, readOff, readOffVoxels, voxelizeMesh } from '../src/index.js';
import { tempDir } from './helpers/tmp.js';

// A cube [0, 2]³ with quad faces (8 vertices, 6 faces).
const CUBE_BODY = `8 6 12
0 0 0
2 0 0
2 2 0
0 2 0
0 0 2
2 0 2
2 2 2
0 2 2
4 0 1 2 3
4 4 5 6 7
4 0 1 5 4
4 2 3 7 6
4 1 2 6 5
4 0 3 7 4
`;

describe('ModelNet OFF meshes and voxelisation', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(join(dir, 'cube.off'), `OFF\n# a comment\n${CUBE_BODY}`);
    // ModelNet's quirk: the counts glued to the header.
    await writeFile(join(dir, 'glued.off'), `OFF${CUBE_BODY}`);
  });

  it('parses OFF, fan-triangulating polygons, with or without the glued header', async () => {
    for (const f of ['cube.off', 'glued.off']) {
      const m = await readOff(join(dir, f));
      expect(m.vertices.length).toBe(24);
      expect(m.triangles.length).toBe(6 * 2 * 3);
      expect(Array.from(m.triangles.subarray(0, 6))).toEqual([0, 1, 2, 0, 2, 3]);
    }
  });

  it('voxelises the cube to its 32³ surface shell', async () => {
    const grid = await readOffVoxels(join(dir, 'cube.off'));
    const R = 32;
    expect(grid.length).toBe(R ** 3);
    // NormalizeScale maps the cube to [-1, 1]³: every boundary voxel is occupied, none inside.
    let shell = 0;
    let filled = 0;
    for (let x = 0; x < R; x++) {
      for (let y = 0; y < R; y++) {
        for (let z = 0; z < R; z++) {
          const onShell = [x, y, z].some((v) => v === 0 || v === R - 1);
          const v = grid[(x * R + y) * R + z];
          filled += v;
          if (onShell) {
            shell++;
            expect(v).toBe(1);
          }
        }
      }
    }
    expect(filled).toBe(shell);
    expect(shell).toBe(R ** 3 - (R - 2) ** 3);
  });

  it('voxelises a square without gaps at another resolution', () => {
    const m = parseOff('OFF\n4 1 0\n-1 -1 0\n1 -1 0\n1 1 0\n-1 1 0\n4 0 1 2 3\n');
    const R = 8;
    const g = voxelizeMesh(m, { resolution: R });
    // Already normalised; the plane z = 0 is the boundary between cells 3 and 4 and lands in cell 4.
    for (let x = 0; x < R; x++) for (let y = 0; y < R; y++) expect(g[(x * R + y) * R + 4]).toBe(1);
    expect(g.reduce((a, b) => a + b, 0)).toBe(R * R);
  });

  it('rejects a wrong header, truncated files and bad face indices, naming the file', async () => {
    expect(() => parseOff('PLY\n3 1 0\n', 'a.off')).toThrow(/a\.off: wrong magic: OFF files start with 'OFF'/);
    expect(() => parseOff('OFF\n8 6 0\n0 0 0\n', 'b.off')).toThrow(
      /b\.off: truncated OFF file: header declares 8 vertices and 6 faces, only 1 data lines follow/,
    );
    expect(() => parseOff('OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n', 'c.off')).toThrow(
      /c\.off: face 0 refers to vertex 7, outside 0\.\.2/,
    );
    expect(() => parseOff('OFF\n3 1 0\n0 0 0\n1 x 0\n0 1 0\n3 0 1 2\n', 'd.off')).toThrow(/d\.off: corrupt vertex 1/);
    expect(() => parseOff('OFF\nthree 1 0\n', 'e.off')).toThrow(/e\.off: corrupt OFF counts line/);
    await expect(readOff(join(dir, 'missing.off'))).rejects.toThrow(/missing\.off: file not found/);
  });

  it('reads a ModelNet folder (class/split/*.off) and feeds 5D voxel batches', async () => {
    await tf.setBackend('cpu');
    const root = join(dir, 'ModelNet2');
    for (const c of ['bed', 'chair'])
      for (const sp of ['train', 'test']) await mkdir(join(root, c, sp), { recursive: true });
    await writeFile(join(root, 'bed', 'train', 'bed_0001.off'), `OFF\n${CUBE_BODY}`);
    await writeFile(join(root, 'bed', 'train', 'bed_0002.off'), `OFF${CUBE_BODY}`);
    await writeFile(
      join(root, 'chair', 'train', 'chair_0001.off'),
      'OFF\n4 1 0\n-1 -1 0\n1 -1 0\n1 1 0\n-1 1 0\n4 0 1 2 3\n',
    );
    const set = await readModelNet(root, 'train', { resolution: 8 });
    expect(set).toMatchObject({ count: 3, resolution: 8, classNames: ['bed', 'chair'] });
    expect(Array.from(set.labels)).toEqual([0, 0, 1]);
    expect(set.grids.subarray(2 * 512, 3 * 512).reduce((a, b) => a + b, 0)).toBe(64);
    const before = tf.memory().numTensors;
    const shapes: number[][] = [];
    await makeVoxelDataset(set, { batchSize: 2 }).forEachAsync((b) => {
      shapes.push(b.xs.shape);
      if (shapes.length === 2) expect(Array.from(b.xs.dataSync()).reduce((a, v) => a + Number(v), 0)).toBe(64);
      tf.dispose([b.xs, b.ys]);
    });
    expect(shapes).toEqual([
      [2, 8, 8, 8, 1],
      [1, 8, 8, 8, 1],
    ]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(readModelNet(root, 'train', { classes: ['bed'] })).rejects.toThrow(
      /ModelNet2\/chair: unknown class folder 'chair'/,
    );
    await mkdir(join(root, 'desk'));
    await expect(readModelNet(root, 'test')).rejects.toThrow(
      /ModelNet2\/desk\/test: missing 'test' folder of class 'desk'/,
    );
  });
});
