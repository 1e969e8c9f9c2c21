/**
 * The GPU machine's check (bundled by tools/device-check.sh prepare, run there by tools/device-check.sh):
 *   1. which native backends load ('cuda' needs a device that answers; 'native' is the host build);
 *   2. GMRConv2D forward and every gradient against core's composed path on cpu, on each backend;
 *   3. the oracle vectors (layer / behaviour files with core's checker, whole-model files with the models package's);
 *   4. the benchmark: the `layer` suite's 64→64 k=9 layer and the `resnet18` suite's training step and inference;
 * then a short table (last). Exit code 1 when a check fails.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gmrConv2d, initialLogSigmas, type GMRConvOptions } from '@gmr-conv/core';
import { gmrResNet18, checkModelOracle, type ModelOracleFile } from '@gmr-conv/models';
import { nativeStatus, kernelCallCounts, resetKernelCallCounts } from '../src/index.js';
import { listVectorFiles, readVector } from '@gmr-conv/test-utils/oracle/load';
import { checkLayerCase, type CaseResult } from '@gmr-conv/test-utils/oracle/layer_case';
import { checkReferenceBehaviour } from '@gmr-conv/test-utils/oracle/behaviour_case';
import { checkEquivariance45CaseAsync } from '@gmr-conv/test-utils/oracle/equivariance45_case';
import { pseudoRandom as rand, relError as relErr } from '@gmr-conv/test-utils/numeric';

const rows: Array<[string, string, string]> = [];
let failures = 0;
const row = (check: string, backend: string, result: string, ok = true) => {
  rows.push([check, backend, ok ? result : `FAIL ${result}`]);
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${check} [${backend}] ${result}`);
};

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
async function timeIt(f: () => Promise<void> | void, runs: number): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

// ---- 2. GMRConv2D vs core composed on cpu --------------------------------------------------------
interface LayerCase {
  name: string;
  cin: number;
  cout: number;
  h: number;
  w: number;
  n: number;
  opts: GMRConvOptions;
}
const layerCases: LayerCase[] = [
  { name: 'k9 same 16→8', cin: 16, cout: 8, h: 12, w: 12, n: 5, opts: { kernelSize: 9, padding: 'same' } },
  {
    name: 'k5 s2 d2 depthwise NCHW',
    cin: 3,
    cout: 6,
    h: 10,
    w: 9,
    n: 3,
    opts: { kernelSize: 5, strides: 2, dilations: 2, padding: 'same', groups: 3, dataFormat: 'channelsFirst' },
  },
  {
    name: 'k3 reflect groups2',
    cin: 4,
    cout: 4,
    h: 7,
    w: 6,
    n: 2,
    opts: { kernelSize: 3, padding: 1, paddingMode: 'reflect', groups: 2 },
  },
  {
    name: 'k5 circular s2',
    cin: 3,
    cout: 5,
    h: 9,
    w: 9,
    n: 3,
    opts: { kernelSize: 5, padding: 2, paddingMode: 'circular', strides: 2 },
  },
];

async function layerOutputs(backend: string, c: LayerCase): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const cf = c.opts.dataFormat === 'channelsFirst';
    const xShape = cf ? [2, c.cin, c.h, c.w] : [2, c.h, c.w, c.cin];
    const g = c.opts.groups ?? 1;
    const x = tf.tensor(
      rand(
        xShape.reduce((p, q) => p * q),
        1,
      ),
      xShape,
    );
    const w = tf.tensor(rand(c.cout * (c.cin / g) * c.n, 2), [c.cout, c.cin / g, c.n]);
    const ls = tf.tensor1d(
      Float32Array.from(initialLogSigmas(c.opts.kernelSize as number, c.n), (v, i) => v + 0.1 * i),
    );
    const b = tf.tensor1d(rand(c.cout, 3));
    const f = (...p: tf.Tensor[]) =>
      gmrConv2d(p[0]!, { weight: p[1]!, logSigmas: p[2]!, bias: p[3]! }, { ...c.opts, path: 'two-stage' });
    const y = f(x, w, ls, b);
    const r = tf.tensor(rand(y.size, 4), y.shape);
    return [y, ...tf.grads((...p: tf.Tensor[]) => tf.sum(tf.mul(f(...p), r)))([x, w, ls, b])];
  });
  const vals = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return vals;
}

async function checkLayers(backend: string) {
  let worst = 0;
  resetKernelCallCounts();
  for (const c of layerCases) {
    const ref = await layerOutputs('cpu', c);
    const got = await layerOutputs(backend, c);
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, relErr(got[i]!, ref[i]!));
  }
  const k = kernelCallCounts();
  const ran = (k.gmrForward ?? 0) > 0 && (k.gmrBackpropInput ?? 0) > 0 && (k.gmrBackpropFilter ?? 0) > 0;
  row(
    'GMRConv2D fwd+grads vs cpu',
    backend,
    `${layerCases.length} cases, max rel err ${worst.toExponential(1)}${ran ? '' : ' (native kernels did not run)'}`,
    worst < 1e-4 && ran,
  );
}

// ---- 3. oracle vectors ---------------------------------------------------------------------------
async function checkOracle(backend: string, dir: string) {
  if (!fs.existsSync(dir)) return row('oracle vectors', backend, `no vectors at ${dir}`, false);
  await tf.setBackend(backend);
  // Core keeps a few tensors per backend for the process (the placeholder for absent inputs, the ring masks of each
  // geometry), made on first use; the checker's per-file leak count would blame whichever file comes first.
  // A first pass over the files makes them; the second pass is the one reported.
  let passed = 0;
  let failed: string[] = [];
  for (const pass of [0, 1]) {
    passed = 0;
    failed = [];
    for (const file of listVectorFiles([dir])) {
      const json = readVector(file);
      const kind = json?.meta?.kind;
      let r: CaseResult | { ok: boolean; name: string; messages: string[] };
      try {
        if (kind === 'layer') r = await checkLayerCase(json);
        else if (kind === 'equivariance45') r = await checkEquivariance45CaseAsync(json, {});
        else if (kind === 'reference_behaviour') r = await checkReferenceBehaviour(json);
        else if (kind === 'model')
          r = pass === 0 ? { ok: true, name: '', messages: [] } : checkModelOracle(json as ModelOracleFile);
        else continue;
      } catch (e) {
        r = { ok: false, name: path.basename(file), messages: [(e as Error).message] };
      }
      if (r.ok) passed++;
      else failed.push(`${path.basename(file)}: ${r.messages.join('; ').slice(0, 160)}`);
    }
  }
  for (const f of failed) console.log(`  oracle FAIL ${f}`);
  row('oracle vectors', backend, `${passed} passed, ${failed.length} failed`, failed.length === 0 && passed > 0);
}

// ---- 4. benchmark --------------------------------------------------------------------------------
async function benchLayer(backend: string) {
  await tf.setBackend(backend);
  const x = tf.randomNormal([8, 32, 32, 64], 0, 1, 'float32', 1);
  const w = tf.randomNormal([64, 64, 5], 0, 0.05, 'float32', 2);
  const ls = tf.tensor1d(initialLogSigmas(9, 5));
  const b = tf.zeros([64]);
  const f = (...p: tf.Tensor[]) =>
    gmrConv2d(p[0]!, { weight: p[1]!, logSigmas: p[2]!, bias: p[3]! }, { kernelSize: 9, padding: 'same' });
  const fwd = await timeIt(async () => {
    const y = tf.tidy(() => f(x, w, ls, b));
    await y.data();
    y.dispose();
  }, 5);
  const fb = await timeIt(async () => {
    const g = tf.tidy(() => tf.grads((...p: tf.Tensor[]) => tf.sum(f(...p)))([x, w, ls, b]));
    await Promise.all(g.map((t) => t.data()));
    tf.dispose(g);
  }, 5);
  tf.dispose([x, w, ls, b]);
  row(
    'bench layer 64→64 k9 32² b8 (PyTorch CPU fwd+bwd 189 ms)',
    backend,
    `forward ${fwd.toFixed(1)} ms, fwd+bwd ${fb.toFixed(1)} ms`,
  );
}

async function benchResNet(backend: string) {
  await tf.setBackend(backend);
  const model = gmrResNet18({ numClasses: 10, gmrConvSize: [9, 9, 5, 5], inputSize: [32, 32] });
  const opt = tf.train.momentum(0.1, 0.9);
  const x = tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const train = await timeIt(async () => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    await loss.data();
    loss.dispose();
  }, 3);
  const infer = await timeIt(async () => {
    const out = model.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
  }, 3);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  row(
    'bench GMR-ResNet-18 b32 32² (PyTorch CPU 813 / 137 ms)',
    backend,
    `train step ${train.toFixed(0)} ms, inference ${infer.toFixed(0)} ms`,
  );
}

async function main() {
  const st = nativeStatus();
  row('backend', 'native', st.native.detail, st.native.ok);
  row('backend', 'cuda', st.cuda.detail, st.cuda.ok || process.env.GMR_ALLOW_NO_CUDA === '1');
  const backends = (['cuda', 'native'] as const).filter((b) => st[b].ok);
  const dir = process.env.GMR_ORACLE_DIR ?? '';
  for (const b of backends) {
    await checkLayers(b);
    await checkOracle(b, dir);
  }
  if (process.env.GMR_SKIP_BENCH !== '1') {
    for (const b of backends) {
      await benchLayer(b);
      await benchResNet(b);
    }
  }
  const w0 = Math.max(...rows.map((r) => r[0].length)),
    w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`\n${'check'.padEnd(w0)}  ${'backend'.padEnd(w1)}  result`);
  for (const [c, b, r] of rows) console.log(`${c.padEnd(w0)}  ${b.padEnd(w1)}  ${r}`);
  console.log(failures === 0 ? 'device check: all passed' : `device check: ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`device check: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
