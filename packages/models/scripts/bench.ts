/**
 * pnpm bench resnet18 [--backend cpu|wasm|webgpu|all] [--json FILE] [--runs N] [--warmup N]
 *
 * Median milliseconds of one training step (batch 32, 32×32×3, 10 classes, SGD with
 * momentum 0.9, softmax cross-entropy, BN in training mode, through TrainingForward) and, after the training steps, of inference on the fixed
 * weights (batch 32, eval mode, batch norm folded: BatchNormFolding) for GMR-ResNet-18 [9,9,5,5]. Records: {backend, model: "gmr_resnet18",
 * batch, size, train_step_ms, inference_ms}. Reference on this 2-core machine (official
 * PyTorch code, 2 threads): 813 ms per training step, 137 ms per inference batch.
 * Backends are set up by @gmr-conv/test-utils/backends (wasm: one thread in Node; webgpu: Dawn).
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { optimizeWasmBackend, softmaxCrossEntropy } from '@gmr-conv/core';
import { median } from '@gmr-conv/test-utils/measure';
import { BatchNormFolding, TrainingForward, gmrResNet18 } from '../src/index.js';

const PYTORCH = { train_step_ms: 813, inference_ms: 137 };

interface BenchRecord {
  backend: string;
  model: 'gmr_resnet18';
  batch: number;
  size: number;
  train_step_ms: number;
  inference_ms: number;
}

async function time(fn: () => Promise<void>, warmup: number, runs: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

export async function benchResNet18(backend: string, runs: number, warmup: number): Promise<BenchRecord> {
  const batch = 32;
  const size = 32;
  const model = gmrResNet18({ numClasses: 10, gmrConvSize: [9, 9, 5, 5], inputSize: [size, size] });
  const opt = tf.train.momentum(0.1, 0.9);
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  // The training batch as the CLI runs it: TrainingForward (batch norm → ReLU pairs as one kernel where the backend
  // has them, no tfjs-layers executor) and core's softmaxCrossEntropy (tf.losses' loss, two kernels on native).
  const forward = new TrainingForward(model);
  const train = async () => {
    const loss = opt.minimize(() => softmaxCrossEntropy(y, forward.apply(x)), true)!;
    await loss.data();
    loss.dispose();
  };
  // Inference as gmr bench times it: batch norm and ReLU folded into the convolutions (BatchNormFolding).
  const folding = new BatchNormFolding(model);
  const infer = async () => {
    const out = folding.predict(x);
    await out.data();
    out.dispose();
  };
  // One untimed step of each first: creates the optimizer's momentum slots and the GMR inference caches.
  await train();
  await infer();
  const start = tf.memory().numTensors;
  const train_step_ms = await time(train, Math.max(0, warmup - 1), runs);
  const inference_ms = await time(infer, Math.max(0, warmup - 1), runs);
  const leaked = tf.memory().numTensors - start;
  tf.dispose([x, y]);
  folding.dispose();
  opt.dispose();
  model.dispose();
  if (leaked !== 0) console.warn(`warning: ${leaked} tensors more after the benchmark than before it`);
  return {
    backend,
    model: 'gmr_resnet18',
    batch,
    size,
    train_step_ms: Math.round(train_step_ms * 10) / 10,
    inference_ms: Math.round(inference_ms * 10) / 10,
  };
}

async function main() {
  const args = process.argv.slice(2);
  const what = args[0] && !args[0].startsWith('--') ? args.shift()! : 'resnet18';
  if (what !== 'resnet18') throw new Error(`bench: unknown benchmark '${what}' (known: resnet18)`);
  let backendArg = 'wasm';
  let jsonFile: string | null = null;
  let runs = 3;
  let warmup = 1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--backend') backendArg = args[++i];
    else if (a === '--json') jsonFile = path.resolve(process.env.INIT_CWD ?? process.cwd(), args[++i]);
    else if (a === '--runs') runs = Number(args[++i]);
    else if (a === '--warmup') warmup = Number(args[++i]);
    else
      throw new Error(
        `bench: unknown argument '${a}' (use --backend cpu|wasm|webgpu|native|cuda|all or a comma list, --json FILE, --runs N, --warmup N)`,
      );
  }
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`bench: --runs must be an integer ≥ 1, got ${runs}`);
  const backends = backendArg === 'all' ? ['cpu', 'wasm', 'webgpu'] : backendArg.split(',');
  const tools = await import('@gmr-conv/test-utils/backends');
  const records: BenchRecord[] = [];
  for (const b of backends) {
    const st = await tools.initBackend(b);
    if (!st.ok) {
      console.log(`${b}: skipped (${st.detail})`);
      continue;
    }
    // wasm: core's Tile replacement (tfjs-wasm's Tile dominates the batch-norm gradient).
    if (b === 'wasm') optimizeWasmBackend();
    const r = await benchResNet18(b, runs, warmup);
    records.push(r);
    console.log(
      `${b} gmr_resnet18 [9,9,5,5] batch ${r.batch} ${r.size}×${r.size}: train step ${r.train_step_ms} ms (PyTorch ${PYTORCH.train_step_ms}, ×${(r.train_step_ms / PYTORCH.train_step_ms).toFixed(2)}), ` +
        `inference ${r.inference_ms} ms (PyTorch ${PYTORCH.inference_ms}, ×${(r.inference_ms / PYTORCH.inference_ms).toFixed(2)}) — median of ${runs} after ${warmup} warm-up (${st.detail})`,
    );
  }
  if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify(records, null, 2) + '\n');
  tools.disposeBackends();
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) await main();
