#!/usr/bin/env node
// The CLI's GMR-CNN convolutions (packages/models/src/cnn.ts, widths 24/48/96: 1→24 k9 28×28, 24→48 k9 14×14,
// 48→96 k5 7×7, default rings, 'same' zero padding, batch 32, NHWC) one addon call sequence at a time, as the native
// kernels issue them (src/kernels/GMRConv2D*.ts): the fused forward (gmrForward), the ring sums alone (ringSum), the
// taping forward (ringSum + sgemm; tapingKeep: gmrForwardKeep), ringScatter alone, the input gradient (sgemm + ringScatter) and the filter
// gradient: the threaded sgemm on the kept R + transpose (filterGrad), gmrFilterGrad on the kept R (filterGradSplit)
// and from x (filterGradFused), where the addon has it. Process CPU time at GMR_BENCH_THREADS threads (default 1; above
// 1 the wall time too, as cpu/wall). Every addon file named on the command line (default build/gmr_host.node)
// alternates round by round; prints the median of each op over rounds (each round a median of `runs` calls) and the
// load.
//   [GMR_BENCH_THREADS=2] node bench/gmr_layers.mjs [rounds=5] [runs=30] [addon.node ...]
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ringMasks } from '@gmr-conv/core';
import { median } from './gmr_bench.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 30);
const files = process.argv.length > 4 ? process.argv.slice(4) : [path.join(here, '..', 'build', 'gmr_host.node')];
const require = createRequire(import.meta.url);
const addons = files.map((f, i) => ({ name: `${i}:${path.basename(f)}`, a: require(path.resolve(f)) }));
const threads = Number(process.env.GMR_BENCH_THREADS ?? 1);
for (const { a } of addons) a.setThreads(threads);

// [name, cin, cout, k, hw], batch 32.
const LAYERS = [
  ['1→24 k9 28²', 1, 24, 9, 28],
  ['24→48 k9 14²', 24, 48, 9, 14],
  ['48→96 k5 7²', 48, 96, 5, 7],
];
const OPS = [
  'fused',
  'ringSum',
  'taping',
  'tapingKeep',
  'ringScatter',
  'inputGrad',
  'filterGrad',
  'filterGradSplit',
  'filterGradFused',
];
const B = 32;
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const alloc = (a, n) => new Float32Array(a.alloc(n * 4));

/** The non-zero mask entries as (ty, tx, ring, w), as gmr_conv_impl.ts's ringTaps. */
function tapsOf(k) {
  const { masks, numRings: n } = ringMasks([k, k]);
  const out = [];
  for (let t = 0; t < k * k; t++)
    for (let i = 0; i < n; i++)
      if (masks[i * k * k + t] !== 0) out.push(Math.floor(t / k), t % k, i, masks[i * k * k + t]);
  return { taps: Float32Array.from(out), n };
}

/** [median CPU ms, median wall ms] of `runs` calls after 2 warm-up calls. */
function cpuMs(fn) {
  const t = [],
    w = [];
  for (let i = 0; i < runs + 2; i++) {
    const c0 = process.cpuUsage(),
      w0 = performance.now();
    fn();
    const c = process.cpuUsage(c0),
      wall = performance.now() - w0;
    if (i < 2) continue;
    t.push((c.user + c.system) / 1000);
    w.push(wall);
  }
  return [median(t), median(w)];
}
const NONE = [NaN, NaN];

function ours(a) {
  return LAYERS.map(([, cin, cout, k, hw]) => {
    const p = (k - 1) >> 1;
    const { taps, n } = tapsOf(k);
    const geom = Int32Array.from([B, hw, hw, cin, hw, hw, 1, n, k, k, 1, 1, 1, 1, p, p, 0]);
    const P = B * hw * hw,
      kk = n * cin;
    const x = rand(P * cin),
      phi = rand(cout * kk),
      dy = rand(P * cout);
    const y = alloc(a, P * cout),
      r = alloc(a, P * kk),
      d = alloc(a, P * kk),
      dx = alloc(a, P * cin),
      dphiT = alloc(a, cout * kk),
      dphi = alloc(a, cout * kk);
    a.ringSum(x, taps, geom, r);
    a.sgemm(false, false, P, kk, cout, 1, dy, 0, cout, phi, 0, kk, 0, d, 0, kk); // D for ringScatter alone
    const res = {
      fused: cpuMs(() => a.gmrForward(x, taps, geom, phi, cout, y)),
      ringSum: cpuMs(() => a.ringSum(x, taps, geom, r)),
      taping: cpuMs(() => {
        a.ringSum(x, taps, geom, r);
        a.sgemm(false, true, P, cout, kk, 1, r, 0, kk, phi, 0, kk, 0, y, 0, cout);
      }),
      tapingKeep: a.gmrForwardKeep ? cpuMs(() => a.gmrForwardKeep(x, taps, geom, phi, cout, y, r)) : NONE,
      ringScatter: cpuMs(() => a.ringScatter(d, taps, geom, dx)),
      inputGrad: cpuMs(() => {
        a.sgemm(false, false, P, kk, cout, 1, dy, 0, cout, phi, 0, kk, 0, d, 0, kk);
        a.ringScatter(d, taps, geom, dx);
      }),
      filterGrad: cpuMs(() => {
        a.sgemm(true, false, cout, kk, P, 1, dy, 0, cout, r, 0, kk, 0, dphiT, 0, kk);
        a.transpose(dphiT, Int32Array.from([cout, n, cin]), Int32Array.from([0, 2, 1]), dphi);
      }),
      filterGradSplit: a.gmrFilterGrad ? cpuMs(() => a.gmrFilterGrad(null, r, dy, taps, geom, cout, dphi)) : NONE,
      filterGradFused: a.gmrFilterGrad ? cpuMs(() => a.gmrFilterGrad(x, null, dy, taps, geom, cout, dphi)) : NONE,
    };
    for (const v of [y, r, d, dx, dphiT, dphi]) a.release(v.buffer);
    return res;
  });
}

const res = Object.fromEntries(addons.map(({ name }) => [name, []]));
const loads = [];
for (let i = 0; i < rounds; i++) {
  loads.push(loadavg()[0]);
  for (const { name, a } of addons) res[name].push(ours(a));
}
console.log(
  `per-op CPU ms${threads > 1 ? ' / wall ms' : ''} at ${threads} thread(s), medians of ${rounds} rounds × ${runs} calls; load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
);
const cols = Object.keys(res);
console.log(['layer', 'op', ...cols].join(' | '));
const total = Object.fromEntries(cols.map((c) => [c, Object.fromEntries(OPS.map((o) => [o, [0, 0]]))]));
const show = ([cpu, wall]) => (threads > 1 ? `${cpu.toFixed(3)} / ${wall.toFixed(3)}` : cpu.toFixed(3));
LAYERS.forEach(([lname], li) => {
  for (const op of OPS) {
    const m = cols.map((c) => [0, 1].map((j) => median(res[c].map((r) => r[li][op][j]))));
    cols.forEach((c, i) => (total[c][op] = total[c][op].map((v, j) => v + m[i][j])));
    console.log([lname, op, ...m.map(show)].join(' | '));
  }
});
for (const op of OPS) console.log(['all', op, ...cols.map((c) => show(total[c][op]))].join(' | '));
