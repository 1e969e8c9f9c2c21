#!/usr/bin/env node
// The plain CNN's three convolutions (apps/cli's plain-cnn 16/32/64: 1→16 k9 28×28, 16→32 k9 14×14, 32→64 k5 7×7,
// 'same' zero padding, batch 32, NHWC) one op at a time: forward, input gradient and filter gradient, each as the
// addon call alone (the forward also with bias + ReLU, as FusedConv2D runs it; PyTorch has no such column), in
// process CPU time at one thread (GMR_NATIVE_THREADS is ignored: setThreads(1)). Every addon
// file named on the command line (default build/gmr_host.node; e.g. a copy of an earlier build) and PyTorch's
// conv2d with torch.nn.grad's conv2d_input / conv2d_weight at one thread (bench/conv_layers.py, oneDNN) alternate
// round by round; prints the median of each op over rounds (each round a median of `runs` calls) and the load.
//   node bench/conv_layers.mjs [rounds=5] [runs=15] [addon.node ...]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './gmr_bench.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 15);
const files = process.argv.length > 4 ? process.argv.slice(4) : [path.join(here, '..', 'build', 'gmr_host.node')];
const python = process.env.GMR_PYTHON ?? '/usr/bin/python3';
const require = createRequire(import.meta.url);
const addons = files.map((f) => ({ name: path.basename(f), a: require(path.resolve(f)) }));
for (const { a } of addons) a.setThreads(1);

// [name, cin, cout, k, hw] as the CLI's plain-cnn builds them (packages/models/src/cnn.ts), batch 32.
const LAYERS = [
  ['1→16 k9 28²', 1, 16, 9, 28],
  ['16→32 k9 14²', 16, 32, 9, 14],
  ['32→64 k5 7²', 32, 64, 5, 7],
];
const B = 32;
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const alloc = (a, n) => new Float32Array(a.alloc(n * 4));

function cpuMs(fn) {
  const t = [];
  for (let i = 0; i < runs + 2; i++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    if (i >= 2) t.push((c.user + c.system) / 1000);
  }
  return median(t);
}

function ours(a) {
  return LAYERS.map(([, cin, cout, k, hw]) => {
    const p = (k - 1) >> 1;
    const geom = Int32Array.from([B, hw, hw, cin, hw, hw, 1, 1, k, k, 1, 1, 1, 1, p, p, 0]);
    const x = rand(B * hw * hw * cin),
      w = rand(k * k * cin * cout),
      dy = rand(B * hw * hw * cout),
      bias = rand(cout);
    const y = alloc(a, dy.length),
      dx = alloc(a, x.length),
      dw = alloc(a, w.length);
    const r = {
      forward: cpuMs(() => a.convForward(x, w, geom, cout, null, 0, y)),
      'forward+bias+ReLU': cpuMs(() => a.convForward(x, w, geom, cout, bias, 1, y)),
      inputGrad: cpuMs(() => a.convBackpropInput(dy, w, geom, cout, dx)),
      filterGrad: cpuMs(() => a.convBackpropFilter(x, dy, geom, cout, dw)),
    };
    for (const v of [y, dx, dw]) a.release(v.buffer);
    return r;
  });
}

const res = { torch: [], ...Object.fromEntries(addons.map(({ name }) => [name, []])) };
const loads = [];
for (let i = 0; i < rounds; i++) {
  loads.push(loadavg()[0]);
  for (const { name, a } of addons) res[name].push(ours(a));
  const t = spawnSync(python, [path.join(here, 'conv_layers.py'), String(runs)], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`conv_layers.py failed: ${t.stderr.slice(-2000)}`);
  res.torch.push(JSON.parse(t.stdout.trim().split('\n').pop()));
}
console.log(
  `per-op CPU ms at 1 thread, medians of ${rounds} rounds × ${runs} calls; load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
);
const cols = Object.keys(res);
console.log(['layer', 'op', ...cols, ...cols.filter((c) => c !== 'torch').map((c) => `${c}/torch`)].join(' | '));
LAYERS.forEach(([lname], li) => {
  for (const op of ['forward', 'forward+bias+ReLU', 'inputGrad', 'filterGrad']) {
    const m = Object.fromEntries(cols.map((c) => [c, median(res[c].map((r) => r[li][op] ?? NaN))]));
    console.log(
      [
        lname,
        op,
        ...cols.map((c) => m[c].toFixed(2)),
        ...cols.filter((c) => c !== 'torch').map((c) => (m[c] / m.torch).toFixed(2) + '×'),
      ].join(' | '),
    );
  }
});
