// The consumer check, run by scripts/consumer-test.sh inside a fresh npm project that installed the packed tarballs:
// what a user gets from `npm install`, through public exports only (no workspace paths, no dist/ deep imports).
// One line per check, "PASS name: detail" or "FAIL name: why", then "consumer: N passed, N failed".
import * as tf from '@tensorflow/tfjs';
import { GMRConv2D } from '@gmr-conv/core';
import { registerNodeWebGPU, releaseNodeWebGPU } from '@gmr-conv/core/node';
import { gmrCNN } from '@gmr-conv/models';
import { kernelCallCounts as nativeCounts, nativeStatus } from '@gmr-conv/kernels-cuda';
import { kernelCallCounts as webgpuCounts } from '@gmr-conv/kernels-webgpu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`PASS ${name}: ${detail}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
function assert(cond, why) {
  if (!cond) throw new Error(why);
}
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

await check('native backend registers', async () => {
  const s = nativeStatus();
  assert(s.native.ok, `nativeStatus().native: ${s.native.detail}`);
  assert(await tf.setBackend('native'), "tf.setBackend('native') returned false");
  assert(tf.getBackend() === 'native', `backend is ${tf.getBackend()}`);
  return s.native.detail;
});

await check('cuda is opt-in and says how to get it', async () => {
  const s = nativeStatus().cuda;
  // Registered only by a GMR_BUILD_CUDA=1 install on a machine with a GPU; otherwise the detail names the way there.
  if (s.ok) return s.detail;
  assert(/GMR_BUILD_CUDA=1 npm rebuild @gmr-conv\/kernels-cuda/.test(s.detail), `nativeStatus().cuda: ${s.detail}`);
  return s.detail;
});

// A small GMR-CNN on a fixed batch: a few Adam steps must lower the loss, with the native GMR kernels doing the work.
let model = null;
const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
await check('GMR-CNN trains on native', async () => {
  assert(tf.getBackend() === 'native', `backend is ${tf.getBackend()}, not native`);
  model = gmrCNN({ numClasses: 3, widths: [4, 8, 8] });
  model.compile({ optimizer: tf.train.adam(0.01), loss: (t, logits) => tf.losses.softmaxCrossEntropy(t, logits) });
  const before = nativeCounts().gmrForward ?? 0;
  const beforeGrad = nativeCounts().gmrBackpropFilter ?? 0;
  const h = await model.fit(x, y, { epochs: 4, batchSize: 8, verbose: 0 });
  const loss = h.history.loss.map(Number);
  assert(loss.every(Number.isFinite), `loss not finite: ${loss}`);
  assert(loss[loss.length - 1] < loss[0], `loss did not fall: ${loss.map((l) => l.toFixed(4)).join(' → ')}`);
  const calls = (nativeCounts().gmrForward ?? 0) - before;
  assert(calls > 0, 'no native GMR forward kernel call');
  assert((nativeCounts().gmrBackpropFilter ?? 0) > beforeGrad, 'no native GMR filter-gradient kernel call');
  return `loss ${loss.map((l) => l.toFixed(4)).join(' → ')}, ${calls} native GMR forward calls`;
});

await check('model saves and loads through @gmr-conv/core/node', async () => {
  assert(model, 'no model (training failed)');
  const dir = mkdtempSync(join(tmpdir(), 'gmr-consumer-model-'));
  try {
    await model.save(`file://${dir}`);
    const loaded = await tf.loadLayersModel(`file://${join(dir, 'model.json')}`);
    const a = tf.tidy(() => model.predict(x).dataSync());
    const b = tf.tidy(() => loaded.predict(x).dataSync());
    const d = maxAbsDiff(a, b);
    assert(d <= 1e-6, `logits of the loaded model differ by ${d}`);
    loaded.dispose();
    return `${loaded.layers.length} layers, logits max|Δ| ${d}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await check('kernels-webgpu runs GMRConv2D on a Dawn adapter', async () => {
  const layer = new GMRConv2D({ filters: 4, kernelSize: 5, padding: 'same' });
  const input = tf.randomNormal([1, 12, 12, 3], 0, 1, 'float32', 2);
  await tf.setBackend('cpu');
  const ref = tf.tidy(() => layer.apply(input).dataSync());
  const r = await registerNodeWebGPU();
  assert(r.ok, `registerNodeWebGPU: ${r.detail}`);
  try {
    assert(await tf.setBackend('webgpu'), "tf.setBackend('webgpu') returned false");
    const before = webgpuCounts().forward;
    const out = layer.apply(input);
    const got = await out.data();
    out.dispose();
    const calls = webgpuCounts().forward - before;
    assert(calls > 0, 'the kernels-webgpu GMRConv2D kernel did not run');
    const d = maxAbsDiff(got, ref);
    assert(d < 1e-4, `webgpu vs cpu max|Δ| ${d}`);
    return `${r.detail}; max|Δ| vs cpu ${d.toExponential(2)}`;
  } finally {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
    releaseNodeWebGPU();
  }
});

console.log(`consumer: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
