import * as tfjs from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  FILE_SCHEME,
  GMRModelFileError,
  PREVIOUS_PREFIX,
  fileSystem,
  registerFileSystemRouters,
} from '../src/node/index.js';

// rename() can be made to fail on chosen targets: a failed rename is the in-process stand-in for a
// crash at that point of a save.
const fault = vi.hoisted(() => ({ failRename: null as null | ((to: string) => boolean) }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const rename: typeof actual.rename = async (from, to) => {
    if (fault.failRename?.(String(to))) {
      throw Object.assign(new Error(`simulated crash renaming to ${String(to)}`), { code: 'EIO' });
    }
    return actual.rename(from, to);
  };
  return { ...actual, rename, default: { ...actual, rename } };
});

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CORE = path.resolve(HERE, '..');
let root: string;

beforeAll(async () => {
  await tfjs.setBackend('cpu');
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'gmr-fsio-'));
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});
afterEach(() => {
  fault.failRename = null;
});

let dirCount = 0;
async function freshDir(): Promise<string> {
  const d = path.join(root, `m${dirCount++}`);
  await fsp.mkdir(d);
  return d;
}

function smallModel(): tfjs.Sequential {
  const m = tfjs.sequential();
  m.add(tfjs.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu' }));
  m.add(tfjs.layers.flatten());
  m.add(tfjs.layers.dense({ units: 4 }));
  return m;
}

const INPUT = tfjs.tensor4d(
  Array.from({ length: 2 * 6 * 6 * 2 }, (_, i) => Math.sin(i * 0.37)),
  [2, 6, 6, 2],
);

async function predict(m: tfjs.LayersModel): Promise<number[]> {
  const y = m.predict(INPUT) as tfjs.Tensor;
  const out = Array.from(await y.data());
  y.dispose();
  return out;
}

async function loadPrediction(handlerOrUrl: string | tfjs.io.IOHandler): Promise<number[]> {
  const m = await tfjs.loadLayersModel(handlerOrUrl);
  try {
    return await predict(m);
  } finally {
    m.dispose();
  }
}

async function saveSmall(dir: string): Promise<{ model: tfjs.Sequential; pred: number[] }> {
  const model = smallModel();
  await model.save(fileSystem(dir));
  return { model, pred: await predict(model) };
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await fsp.writeFile(file, JSON.stringify(value));
}

// Uint8Array, not Buffer: @types/node 20.9's Buffer does not type-check against TS 5.9's Uint8Array.
async function bytes(file: string): Promise<Uint8Array> {
  return new Uint8Array(await fsp.readFile(file));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function snapshot(dir: string): Promise<{ json: Uint8Array; bin: Uint8Array }> {
  return { json: await bytes(path.join(dir, 'model.json')), bin: await bytes(path.join(dir, 'weights.bin')) };
}

describe('fileSystem() round trip', () => {
  it('saves model.json + weights.bin in the tfjs format and loads identical predictions', async () => {
    const dir = await freshDir();
    const { model, pred } = await saveSmall(dir);
    expect((await fsp.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const json = await readJson(path.join(dir, 'model.json'));
    expect(json.format).toBe('layers-model');
    expect(String(json.generatedBy)).toMatch(/TensorFlow\.js/);
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology).toBeTypeOf('object');
    const manifest = json.weightsManifest as { paths: string[]; weights: { shape: number[] }[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.paths).toEqual(['weights.bin']);
    const params = manifest[0]!.weights.reduce((a, w) => a + w.shape.reduce((b, c) => b * c, 1), 0);
    expect(params).toBe(model.countParams());
    expect((await fsp.stat(path.join(dir, 'weights.bin'))).size).toBe(params * 4);

    expect(await loadPrediction(fileSystem(dir))).toEqual(pred);
    expect(await loadPrediction(fileSystem(path.join(dir, 'model.json')))).toEqual(pred);
    model.dispose();
  });

  it('keeps trainingConfig and userDefinedMetadata', async () => {
    const dir = await freshDir();
    const model = smallModel();
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    model.setUserDefinedMetadata({ note: 'ring 3', epoch: 7 });
    await model.save(fileSystem(dir), { includeOptimizer: true });
    const json = await readJson(path.join(dir, 'model.json'));
    expect(json.trainingConfig).toMatchObject({ loss: 'mean_squared_error' });
    expect(json.userDefinedMetadata).toEqual({ note: 'ring 3', epoch: 7 });
    const loaded = await tfjs.loadLayersModel(fileSystem(dir));
    expect(loaded.getUserDefinedMetadata()).toEqual({ note: 'ring 3', epoch: 7 });
    loaded.dispose();
    model.dispose();
  });

  it('routes file:// URLs for model.save and tf.loadLayersModel, registering only once', async () => {
    expect(registerFileSystemRouters()).toBe(false); // index.ts already did it
    expect(tfjs.io.getSaveHandlers(`${FILE_SCHEME}/x`)).toHaveLength(1);
    expect(tfjs.io.getLoadHandlers(`${FILE_SCHEME}/x/model.json`)).toHaveLength(1);
    expect(tfjs.io.getSaveHandlers('http://example.com/x')).toHaveLength(1); // only tfjs' own http router

    const dir = path.join(root, 'via-url', 'nested'); // created by the save
    const model = smallModel();
    await model.save(`${FILE_SCHEME}${dir}`);
    const pred = await predict(model);
    expect(await loadPrediction(`${FILE_SCHEME}${dir}/model.json`)).toEqual(pred);
    expect(await loadPrediction(`${FILE_SCHEME}${dir}`)).toEqual(pred);
    model.dispose();
  });

  it('loads shards concatenated in manifest order, even when split inside a value', async () => {
    const dir = await freshDir();
    const { model, pred } = await saveSmall(dir);
    const bin = await bytes(path.join(dir, 'weights.bin'));
    const cut = 4 * 10 + 2; // mid-float on purpose
    // Names sort opposite to manifest order: reading in directory order would scramble them.
    await fsp.writeFile(path.join(dir, 'z-shard1.bin'), bin.subarray(0, cut));
    await fsp.writeFile(path.join(dir, 'a-shard2.bin'), bin.subarray(cut));
    await fsp.rm(path.join(dir, 'weights.bin'));
    const json = await readJson(path.join(dir, 'model.json'));
    // a hand-made manifest (other shards, an extra group): its checksum no longer applies
    delete json.integrity;
    (json.weightsManifest as { paths: string[] }[])[0]!.paths = ['z-shard1.bin', 'a-shard2.bin'];
    await writeJson(path.join(dir, 'model.json'), json);
    expect(await loadPrediction(fileSystem(dir))).toEqual(pred);

    // Several groups, each checked on its own.
    const specs = (json.weightsManifest as { weights: unknown[] }[])[0]!.weights;
    json.weightsManifest = [
      { paths: ['z-shard1.bin', 'a-shard2.bin'], weights: specs },
      { paths: ['extra.bin'], weights: [{ name: 'extra', shape: [3], dtype: 'float32' }] },
    ];
    await writeJson(path.join(dir, 'model.json'), json);
    await fsp.writeFile(path.join(dir, 'extra.bin'), new Uint8Array(12));
    const art = await fileSystem(dir).load();
    expect(art.weightSpecs!.map((s) => s.name).at(-1)).toBe('extra');
    expect((art.weightData as ArrayBuffer).byteLength).toBe(bin.byteLength + 12);
    model.dispose();
  });

  it('round-trips string and quantized weights', async () => {
    const dir = await freshDir();
    const s = tfjs.tensor1d(['ring', 'gaussian', ''], 'string');
    const f = tfjs.tensor2d([
      [1.5, -2],
      [3, 4],
    ]);
    const { data, specs } = await tfjs.io.encodeWeights({ s, f });
    await fileSystem(dir).save({ modelTopology: { kind: 'test' }, weightSpecs: specs, weightData: data });
    const art = await fileSystem(dir).load();
    const back = tfjs.io.decodeWeights(art.weightData!, art.weightSpecs!);
    expect(await back.s!.data()).toEqual(['ring', 'gaussian', '']);
    expect(Array.from(await back.f!.data())).toEqual([1.5, -2, 3, 4]);

    // uint8 quantization: 1 byte per value, dequantized as v * scale + min.
    const qdir = await freshDir();
    await writeJson(path.join(qdir, 'model.json'), {
      modelTopology: {},
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: [{ name: 'q', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }],
        },
      ],
    });
    await fsp.writeFile(path.join(qdir, 'weights.bin'), new Uint8Array([0, 1, 2, 4]));
    const q = await fileSystem(qdir).load();
    const qt = tfjs.io.decodeWeights(q.weightData!, q.weightSpecs!);
    expect(Array.from(await qt.q!.data())).toEqual([-1, -0.5, 0, 1]);
    tfjs.dispose([s, f, ...Object.values(back), ...Object.values(qt)]);
  });
});

describe('fileSystem() refuses bad folders', () => {
  async function expectRefusal(dir: string, pattern: RegExp): Promise<GMRModelFileError> {
    const err = await fileSystem(dir)
      .load()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GMRModelFileError);
    expect((err as Error).message).toMatch(pattern);
    return err as GMRModelFileError;
  }

  async function withPaths(paths: string[]): Promise<string> {
    const dir = await freshDir();
    const { model } = await saveSmall(dir);
    model.dispose();
    const json = await readJson(path.join(dir, 'model.json'));
    (json.weightsManifest as { paths: string[] }[])[0]!.paths = paths;
    await writeJson(path.join(dir, 'model.json'), json);
    return dir;
  }

  it('a manifest path that leaves the folder', async () => {
    const dir = await withPaths(['../evil.bin']);
    // The file exists: the refusal must come from the path, not from a missing file.
    await fsp.copyFile(path.join(dir, 'weights.bin'), path.join(dir, '..', 'evil.bin'));
    const err = await expectRefusal(dir, /"\.\.\/evil\.bin" leaves the model folder/);
    expect(err.file).toBe(path.join(dir, 'model.json'));
    await expectRefusal(await withPaths(['sub/../../evil.bin']), /leaves the model folder/);
    await expectRefusal(await withPaths(['.']), /leaves the model folder|not a regular file/);
  });

  it('an absolute manifest path', async () => {
    const dir = await withPaths([]);
    await expectRefusal(await withPaths([path.join(dir, 'weights.bin')]), /is absolute/);
    await expectRefusal(await withPaths(['C:\\models\\weights.bin']), /is absolute/);
  });

  it('a symlink inside the folder that points outside it', async () => {
    const dir = await withPaths(['link.bin']);
    const outside = path.join(root, 'outside.bin');
    await fsp.copyFile(path.join(dir, 'weights.bin'), outside);
    await fsp.symlink(outside, path.join(dir, 'link.bin'));
    await expectRefusal(dir, /is a link to .*outside the model folder/);
    // A link that stays inside is fine.
    await fsp.rm(path.join(dir, 'link.bin'));
    await fsp.symlink('weights.bin', path.join(dir, 'link.bin'));
    await expect(fileSystem(dir).load()).resolves.toBeTruthy();
  });

  it('a truncated or over-long weights.bin', async () => {
    const dir = await freshDir();
    const { model } = await saveSmall(dir);
    const size = (await fsp.stat(path.join(dir, 'weights.bin'))).size;
    await fsp.truncate(path.join(dir, 'weights.bin'), size - 4);
    const short = await expectRefusal(
      dir,
      new RegExp(`holds ${size - 4} bytes but .* specifies ${size} bytes .*truncated`),
    );
    expect(short.file).toBe(path.join(dir, 'weights.bin'));
    await fsp.truncate(path.join(dir, 'weights.bin'), size + 1);
    await expectRefusal(dir, new RegExp(`holds ${size + 1} bytes but .* specifies ${size} bytes .*too long`));
    // The model-level API reports the same error.
    await expect(tfjs.loadLayersModel(fileSystem(dir))).rejects.toThrow(/too long/);
    model.dispose();
  });

  it('missing files, invalid JSON, and a model.json without topology or manifest', async () => {
    await expectRefusal(path.join(root, 'nowhere'), /no such model\.json file or model folder/);
    await expectRefusal(await freshDir(), /model\.json: missing: the folder holds no model\.json/);

    const dir = await freshDir();
    const { model } = await saveSmall(dir);
    model.dispose();
    await fsp.rm(path.join(dir, 'weights.bin'));
    await expectRefusal(dir, /weights\.bin: missing weights file \(listed in .*model\.json\)/);

    const bad = await freshDir();
    await fsp.writeFile(path.join(bad, 'model.json'), '{"modelTopology": {');
    await expectRefusal(bad, /model\.json: invalid JSON/);
    await writeJson(path.join(bad, 'model.json'), { weightsManifest: [] });
    await expectRefusal(bad, /has no modelTopology/);
    await writeJson(path.join(bad, 'model.json'), { modelTopology: {} });
    await expectRefusal(bad, /has no weightsManifest array/);
    await writeJson(path.join(bad, 'model.json'), [1, 2]);
    await expectRefusal(bad, /is not a JSON object/);
  });

  it('an unknown quantization or dtype', async () => {
    const dir = await freshDir();
    await fsp.writeFile(path.join(dir, 'weights.bin'), new Uint8Array(4));
    const entry = { name: 'q', shape: [4], dtype: 'float32', quantization: { dtype: 'int4', scale: 1, min: 0 } };
    await writeJson(path.join(dir, 'model.json'), {
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [entry] }],
    });
    await expectRefusal(dir, /weight "q" uses quantization dtype "int4"; supported: uint8, uint16, float16/);
    entry.quantization = { dtype: 'uint8' } as never;
    await writeJson(path.join(dir, 'model.json'), {
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [entry] }],
    });
    await expectRefusal(dir, /uint8-quantized but lacks numeric scale\/min/);
    await writeJson(path.join(dir, 'model.json'), {
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'h', shape: [2], dtype: 'float64' }] }],
    });
    await expectRefusal(dir, /unsupported dtype "float64"/);
  });

  it('refuses to save weight data that disagrees with its specs', async () => {
    const dir = await freshDir();
    const err = await fileSystem(dir)
      .save({
        modelTopology: {},
        weightSpecs: [{ name: 'w', shape: [3], dtype: 'float32' }],
        weightData: new ArrayBuffer(8),
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/weight data has 8 bytes but the weight specs imply 12/);
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});

describe('atomic saves', () => {
  async function leftovers(dir: string): Promise<string[]> {
    return (await fsp.readdir(dir)).filter((n) => n !== 'model.json' && n !== 'weights.bin');
  }

  it('a failed model.json rename keeps the previous model byte for byte', async () => {
    const dir = await freshDir();
    const first = await saveSmall(dir);
    const before = await snapshot(dir);
    fault.failRename = (to) => path.basename(to) === 'model.json';
    const second = smallModel();
    await expect(second.save(fileSystem(dir))).rejects.toThrow(
      /saving failed, the previous model is kept: simulated crash/,
    );
    fault.failRename = null;
    const after = await snapshot(dir);
    expect(sameBytes(after.json, before.json)).toBe(true);
    expect(sameBytes(after.bin, before.bin)).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
    expect(await loadPrediction(fileSystem(dir))).toEqual(first.pred);
    // And the folder still takes the next save.
    await second.save(fileSystem(dir));
    expect(await loadPrediction(fileSystem(dir))).toEqual(await predict(second));
    first.model.dispose();
    second.dispose();
  });

  it('a failed weights.bin rename keeps the previous model byte for byte', async () => {
    const dir = await freshDir();
    const first = await saveSmall(dir);
    const before = await snapshot(dir);
    fault.failRename = (to) => path.basename(to) === 'weights.bin';
    const second = smallModel();
    await expect(second.save(fileSystem(dir))).rejects.toThrow(/simulated crash/);
    const after = await snapshot(dir);
    expect(sameBytes(after.json, before.json)).toBe(true);
    expect(sameBytes(after.bin, before.bin)).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
    first.model.dispose();
    second.dispose();
  });

  it('a crash between the two renames (no rollback possible) still loads the previous model', async () => {
    const dir = await freshDir();
    const first = await saveSmall(dir);
    const oldJson = await bytes(path.join(dir, 'model.json'));
    // Allow exactly the weights rename; every later rename (model.json, the rollback) fails, which
    // leaves the files a kill -9 at that moment would leave.
    let renames = 0;
    fault.failRename = () => ++renames > 1;
    const second = smallModel();
    second.add(tfjs.layers.dense({ units: 2 })); // another architecture: a mixed pair would not load
    await expect(second.save(fileSystem(dir))).rejects.toThrow(/simulated crash/);
    fault.failRename = null;
    expect(sameBytes(await bytes(path.join(dir, 'model.json')), oldJson)).toBe(true);
    expect((await leftovers(dir)).sort()).toEqual([`${PREVIOUS_PREFIX}model.json`, `${PREVIOUS_PREFIX}weights.bin`]);
    expect(await loadPrediction(fileSystem(dir))).toEqual(first.pred);
    expect(await loadPrediction(`${FILE_SCHEME}${dir}/model.json`)).toEqual(first.pred);
    // The next save commits over it and removes the recovery pair.
    await second.save(fileSystem(dir));
    expect(await leftovers(dir)).toEqual([]);
    expect(await loadPrediction(fileSystem(dir))).toEqual(await predict(second));
    first.model.dispose();
    second.dispose();
  });

  it('removes temp files of dead savers, keeps those of live ones', async () => {
    const dir = await freshDir();
    const dead = `.gmr-tmp.999999999.abc.weights.bin`;
    const live = `.gmr-tmp.${process.ppid}.abc.model.json`;
    await fsp.writeFile(path.join(dir, dead), 'x');
    await fsp.writeFile(path.join(dir, live), 'x');
    const { model } = await saveSmall(dir);
    expect((await leftovers(dir)).sort()).toEqual([live]);
    model.dispose();
  });

  it('saves to one folder from one process are serialized', async () => {
    const dir = await freshDir();
    const models = [smallModel(), smallModel(), smallModel()];
    await Promise.all(models.map((m) => m.save(fileSystem(dir))));
    expect(await leftovers(dir)).toEqual([]);
    const preds = await Promise.all(models.map(predict));
    expect(preds).toContainEqual(await loadPrediction(fileSystem(dir)));
    models.forEach((m) => m.dispose());
  });
});

// The child saves a ~16 MB model in a loop. Generation g has every weight equal to g and records g in
// userDefinedMetadata; odd and even generations differ in architecture, so a model.json paired with
// another save's weights.bin would be caught. Mode 'weights' / 'model' pauses right after that
// rename and says "window", so the parent's kill lands exactly there; 'random' is a plain loop.
const CHILD = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as tf from '@tensorflow/tfjs';
const [modUrl, dir, startGen, mode] = process.argv.slice(1);
if (mode !== 'random') {
  const target = mode === 'weights' ? 'weights.bin' : 'model.json';
  const rename = fs.promises.rename;
  fs.promises.rename = async (from, to) => {
    await rename(from, to);
    if (String(to).endsWith(target)) {
      process.stdout.write('window\\n');
      await new Promise((r) => setTimeout(r, 10000));
    }
  };
  syncBuiltinESMExports(); // the handler's node:fs/promises import now sees the patched rename
}
const { fileSystem } = await import(modUrl);
let g = Number(startGen);
await tf.setBackend('cpu');
function build(units) {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [units], units }));
  m.add(tf.layers.dense({ units }));
  m.add(tf.layers.dense({ units }));
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}
const models = [build(1152), build(1088)];
for (;;) {
  const m = models[g % 2];
  const ws = m.weights.map((w) => tf.fill(w.shape, g));
  m.setWeights(ws);
  tf.dispose(ws);
  m.setUserDefinedMetadata({ generation: g });
  await m.save(fileSystem(dir));
  process.stdout.write('saved ' + g + '\\n');
  g++;
}
`;

type KillMode = 'random' | 'weights' | 'model';

describe('kill -9 during saves', () => {
  /** Runs the child until the kill; returns the generations it reported saved. */
  async function runAndKill(dir: string, startGen: number, mode: KillMode, delayMs: number): Promise<number[]> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        CHILD,
        path.join(CORE, 'src/node/index.ts'),
        dir,
        String(startGen),
        mode,
      ],
      { cwd: CORE, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (mode !== 'random' && out.includes('window')) child.kill('SIGKILL');
      if (mode === 'random' && killTimer === undefined && out.includes('saved')) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    // generous: a loaded 2-core machine can take many seconds just to start tsx
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((res) =>
      child.on('close', (c, sig) => res([c, sig])),
    );
    clearTimeout(watchdog);
    clearTimeout(killTimer);
    if (signal !== 'SIGKILL' || (mode === 'random' ? !out.includes('saved') : !out.includes('window'))) {
      throw new Error(`child ended with code ${code} signal ${signal}:\n${out}\n${err}`);
    }
    // Pipe writes are synchronous: every line written before the kill is read by 'close'.
    return [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
  }

  it('the folder always loads as the last committed or the in-flight generation', async () => {
    const dir = await freshDir();
    const rounds: KillMode[] = ['random', 'weights', 'random', 'model', 'weights', 'random'];
    let committed = -1;
    const log: string[] = [];
    const t0 = Date.now();
    for (const mode of rounds) {
      const start = committed + 1;
      const saved = await runAndKill(dir, start, mode, Math.floor(Math.random() * 300));
      if (saved.length > 0) committed = saved.at(-1)!;
      const recovery = (await fsp.readdir(dir)).filter((n) => n.startsWith(PREVIOUS_PREFIX));

      const art = await fileSystem(dir).load();
      const gen = (art.userDefinedMetadata as { generation: number }).generation;
      log.push(`${mode}: saved ${saved.length}, loaded ${gen}${recovery.length ? ' via recovery pair' : ''}`);
      const values = new Float32Array(art.weightData as ArrayBuffer);
      expect(values.length).toBeGreaterThan(3_000_000);
      expect(values.every((v) => v === gen)).toBe(true);
      expect(art.weightSpecs![0]!.shape).toEqual(gen % 2 === 0 ? [1152, 1152] : [1088, 1088]);
      if (mode === 'random') {
        const inFlight = Math.max(committed + 1, start);
        expect([committed, inFlight]).toContain(gen);
      } else {
        // Killed with the new weights.bin (or model.json) already renamed in: the old model wins.
        expect(recovery.sort()).toEqual([`${PREVIOUS_PREFIX}model.json`, `${PREVIOUS_PREFIX}weights.bin`]);
        expect(gen).toBe(committed);
      }
      committed = Math.max(committed, gen); // a commit the child had no time to report
    }
    // The last state also loads as a real model.
    const m = await tfjs.loadLayersModel(`${FILE_SCHEME}${dir}`);
    expect(m.layers).toHaveLength(4);
    m.dispose();
    // The next save in this process clears what the killed savers left.
    await fileSystem(dir).save(await fileSystem(dir).load());
    expect((await fsp.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    console.log(`kill test, ${Date.now() - t0} ms: ${log.join('; ')}`);
    // six child processes, each starting tsx: minutes on a loaded 2-core machine
  }, 240_000);
});

it('fileSystem() rejects an empty path', () => {
  expect(() => fileSystem('')).toThrow(GMRModelFileError);
  expect(fs.existsSync(root)).toBe(true);
});
