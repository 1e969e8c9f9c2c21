/**
 * ModelNet OFF meshes and their voxelisation to an occupancy grid (default 32³), the input of the 3D models.
 * Reads the ModelNet quirk where the header line is glued to the counts ("OFF490 518 0").
 */
import { fail, invalidArg } from '../errors.js';
import { readBytes } from '../io.js';

export interface Mesh {
  /** [V, 3] xyz, flattened. */
  vertices: Float64Array;
  /** [F, 3] vertex indices of triangles (polygons are fan-triangulated), flattened. */
  triangles: Int32Array;
}

/** Parses OFF text. */
export function parseOff(text: string, file = '<off>'): Mesh {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0 || !lines[0].startsWith('OFF'))
    fail(file, `wrong magic: OFF files start with 'OFF'; found ${JSON.stringify((lines[0] ?? '').slice(0, 20))}`);
  let li = 0;
  let countsLine = lines[0].slice(3).trim();
  li = 1;
  if (countsLine.length === 0) {
    if (lines.length < 2) fail(file, 'truncated OFF file: no counts line');
    countsLine = lines[1];
    li = 2;
  }
  const counts = countsLine.split(/\s+/).map(Number);
  if (counts.length < 2 || !counts.slice(0, 2).every((c) => Number.isInteger(c) && c >= 0))
    fail(file, `corrupt OFF counts line ${JSON.stringify(countsLine)}`);
  const [nv, nf] = counts;
  if (lines.length < li + nv + nf)
    fail(
      file,
      `truncated OFF file: header declares ${nv} vertices and ${nf} faces, only ${lines.length - li} data lines follow`,
    );
  const vertices = new Float64Array(nv * 3);
  for (let v = 0; v < nv; v++) {
    const t = lines[li + v].split(/\s+/).map(Number);
    if (t.length < 3 || !t.slice(0, 3).every(Number.isFinite))
      fail(file, `corrupt vertex ${v}: ${JSON.stringify(lines[li + v])}`);
    vertices.set(t.slice(0, 3), 3 * v);
  }
  li += nv;
  const tris: number[] = [];
  for (let f = 0; f < nf; f++) {
    const t = lines[li + f].split(/\s+/).map(Number);
    const k = t[0];
    if (!Number.isInteger(k) || k < 3 || t.length < 1 + k)
      fail(file, `corrupt face ${f}: ${JSON.stringify(lines[li + f])}`);
    const idx = t.slice(1, 1 + k);
    for (const i of idx)
      if (!Number.isInteger(i) || i < 0 || i >= nv) fail(file, `face ${f} refers to vertex ${i}, outside 0..${nv - 1}`);
    for (let j = 1; j + 1 < k; j++) tris.push(idx[0], idx[j], idx[j + 1]);
  }
  return { vertices, triangles: Int32Array.from(tris) };
}

/** Reads an OFF file. */
export async function readOff(file: string): Promise<Mesh> {
  return parseOff(new TextDecoder().decode(await readBytes(file)), file);
}

export interface VoxelizeOptions {
  /** Grid side (default 32). */
  resolution?: number;
}

/**
 * Occupancy grid [R, R, R] (index ((x·R)+y)·R+z, uint8 0/1) of the mesh surface. The mesh is first normalised
 * as PyG's NormalizeScale (centred on the vertex mean, scaled so the largest |coordinate| is 1); cube [-1, 1]³ is
 * split into R³ voxels, and every triangle is sampled on a barycentric lattice finer than half a voxel, so the
 * surface leaves no gaps. Deterministic (no random point sampling).
 */
export function voxelizeMesh(mesh: Mesh, options: VoxelizeOptions = {}): Uint8Array {
  const R = options.resolution ?? 32;
  if (!Number.isInteger(R) || R < 1 || R > 512) invalidArg('voxelizeMesh', 'resolution', R, 'an integer in 1..512');
  const grid = new Uint8Array(R * R * R);
  const v = mesh.vertices;
  const nv = v.length / 3;
  if (nv === 0) return grid;
  const mean = [0, 0, 0];
  for (let i = 0; i < nv; i++) for (let d = 0; d < 3; d++) mean[d] += v[3 * i + d] / nv;
  let scale = 0;
  for (let i = 0; i < nv; i++) for (let d = 0; d < 3; d++) scale = Math.max(scale, Math.abs(v[3 * i + d] - mean[d]));
  const inv = scale > 0 ? 1 / scale : 1;
  const p = new Float64Array(nv * 3);
  for (let i = 0; i < nv; i++) for (let d = 0; d < 3; d++) p[3 * i + d] = (v[3 * i + d] - mean[d]) * inv;
  const cell = (c: number) => Math.min(R - 1, Math.max(0, Math.floor(((c + 1) / 2) * R)));
  const mark = (x: number, y: number, z: number) => {
    grid[(cell(x) * R + cell(y)) * R + cell(z)] = 1;
  };
  const voxel = 2 / R;
  const t = mesh.triangles;
  for (let f = 0; f < t.length; f += 3) {
    const a = 3 * t[f];
    const b = 3 * t[f + 1];
    const c = 3 * t[f + 2];
    const edge = Math.max(dist(p, a, b), dist(p, b, c), dist(p, c, a));
    const n = Math.max(1, Math.ceil(edge / (voxel / 2)));
    for (let i = 0; i <= n; i++) {
      for (let j = 0; i + j <= n; j++) {
        const u = i / n;
        const w = j / n;
        const s = 1 - u - w;
        mark(
          s * p[a] + u * p[b] + w * p[c],
          s * p[a + 1] + u * p[b + 1] + w * p[c + 1],
          s * p[a + 2] + u * p[b + 2] + w * p[c + 2],
        );
      }
    }
  }
  return grid;
}

function dist(p: Float64Array, a: number, b: number): number {
  return Math.hypot(p[a] - p[b], p[a + 1] - p[b + 1], p[a + 2] - p[b + 2]);
}

/** Reads and voxelises an OFF file. */
export async function readOffVoxels(file: string, options: VoxelizeOptions = {}): Promise<Uint8Array> {
  return voxelizeMesh(await readOff(file), options);
}

/** Voxelised meshes with labels: grids [count, R, R, R] uint8 0/1. */
export interface VoxelSet {
  grids: Uint8Array;
  labels: Int32Array;
  count: number;
  resolution: number;
  classNames: string[];
  /** The OFF file of each grid. */
  files: string[];
}

/**
 * A ModelNet10/40 split from its folder layout root/<class>/<split>/*.off, voxelised to resolution³.
 * `classes` (when given) must match the class folders exactly, as in readImageFolder.
 */
export async function readModelNet(
  root: string,
  split: 'train' | 'test',
  options: VoxelizeOptions & { classes?: string[] } = {},
): Promise<VoxelSet> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  if (split !== 'train' && split !== 'test') invalidArg('readModelNet', 'split', split, "'train' or 'test'");
  const R = options.resolution ?? 32;
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    fail(root, `cannot list the ModelNet folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const classes = options.classes ?? folders;
  if (options.classes) {
    for (const f of folders)
      if (!classes.includes(f))
        fail(join(root, f), `unknown class folder '${f}' (the classes are: ${classes.join(', ')})`);
    for (const c of classes) if (!folders.includes(c)) fail(join(root, c), `class '${c}' has no folder`);
  }
  if (classes.length === 0) fail(root, 'no class sub-folders');
  const files: string[] = [];
  const labels: number[] = [];
  for (let label = 0; label < classes.length; label++) {
    const dir = join(root, classes[label], split);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.off')).sort();
    } catch {
      fail(dir, `missing '${split}' folder of class '${classes[label]}'`);
    }
    for (const n of names) {
      files.push(join(dir, n));
      labels.push(label);
    }
  }
  const grids = new Uint8Array(files.length * R * R * R);
  for (let i = 0; i < files.length; i++) grids.set(await readOffVoxels(files[i], { resolution: R }), i * R * R * R);
  return {
    grids,
    labels: Int32Array.from(labels),
    count: files.length,
    resolution: R,
    classNames: [...classes],
    files,
  };
}
