/**
 * GMRConv2D forward on the native backends: ring sums then mixing (gmr_conv_impl.ts); outside a gradient tape the two
 * are fused block by block. Calls the native kernels do not cover run core's composed implementation.
 */
import { forwardTensors, gmrConvComposed, GMR_CONV_2D, type GMRKernelArgs } from '@gmr-conv/core/kernel';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import {
  finish,
  geometry,
  GMR_COUNTERS,
  mixingOperand,
  ringKey,
  ringSums,
  ringTaps,
  toNHWC,
  unsupportedReason,
} from './gmr_conv_impl.js';
import { nativeKernel } from './native_util.js';

/**
 * Largest mixing operand (Cout/g · n·Cin/g floats) for which the fused forward is taken. With Φ packed once per call,
 * at one thread (CPU ms, fused against ring sums + sgemm): 128→128 k9 14² batch 8 (82k floats) 2.37 against 2.55,
 * 256→256 k9 7² batch 8 (328k) 1.89 against 1.90, 512→512 k5 7² batch 4 (786k) 2.89 against 2.30: every block reads
 * all of a packed Φ that no longer fits in L2.
 */
const FUSE_MAX_MIX = 1 << 18;

export function gmrConv2D({ inputs, backend: b, attrs: a }: GMRKernelArgs<typeof GMR_CONV_2D, NativeBackend>) {
  const t = forwardTensors(inputs, a);
  const { x, weight, indexMat } = t;
  const logSigmas = t.logSigmas ?? null;
  const bias = t.bias ?? null;
  const backend = b;
  if (unsupportedReason(a) !== null || x.dtype !== 'float32') {
    count(GMR_COUNTERS.fallback);
    return gmrConvComposed(t, a);
  }
  count(GMR_COUNTERS.forward);
  const [cout, cinG] = weight.shape as [number, number, number];
  const g = geometry(a, x.shape, weight.shape);
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  const xl = toNHWC(x, a);
  const phi = mixingOperand(backend, weight, logSigmas, a);
  const taping = backend.recordingGradients();
  // attrs.activation (core passes it only outside a tape) in the bias pass: 1 = ReLU
  const act = a.activation === 'relu' ? 1 : 0;
  if (!taping && backend.kind === 'native' && coutG * k <= FUSE_MAX_MIX) {
    // No backward will follow: ring sums and mixing fused block by block (R never leaves the cache). The GMR-CNN's
    // layers, batch 32 (bench/gmr_layers.mjs): at two threads (wall) 24→48 k9 14² 0.61 ms fused against 0.78 for ring
    // sums + sgemm, 48→96 k5 7² 0.27 against 0.32; at one thread (CPU) 1.08 against 1.13 and 0.36 against 0.35 (its
    // R, 0.9 MB, stays in L2): fused for both, bias and activation included.
    count(GMR_COUNTERS.forwardFused);
    const y = backend.allocFloat32(P * cout);
    // Bias and activation block by block too, on rows still in cache (a separate pass over y cost 0.15–0.2 ms for
    // the CLI's GMR-CNN).
    const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
    backend.addon.gmrForward(backend.f32(xl), taps, g.packed, phi, cout, y, bias ? backend.f32(bias) : null, act);
    if (xl !== x) xl.dispose();
    backend.freeScratch(phi);
    return finish(backend, y, [g.batch, g.outH, g.outW, cout], a);
  }
  if (taping && backend.kind === 'native') {
    // Under a gradient tape on the host: y and the ring sums R that the filter gradient reuses, in one call (one input
    // channel: both from the same pass).
    const r = backend.allocFloat32(P * g.cin * g.n);
    const y = backend.allocFloat32(P * cout);
    const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
    backend.addon.gmrForwardKeep(backend.f32(xl), taps, g.packed, phi, cout, y, r);
    if (xl !== x) xl.dispose();
    backend.freeScratch(phi);
    backend.keepRingSums(x.dataId, ringKey(g, indexMat), r);
    if (bias || act) backend.addon.biasAct(y, bias ? backend.f32(bias) : null, P, cout, act);
    return finish(backend, y, [g.batch, g.outH, g.outW, cout], a);
  }
  const r = ringSums(backend, xl, indexMat, g);
  if (xl !== x) xl.dispose();
  const y = backend.allocFloat32(P * cout);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(
      false,
      true,
      P,
      coutG,
      k,
      1,
      r,
      grp * k,
      g.cin * g.n,
      phi,
      grp * coutG * k,
      k,
      0,
      y,
      grp * coutG,
      cout,
    );
  }
  backend.freeScratch(phi);
  // Under a gradient tape the filter gradient needs R again: keep it rather than recompute it there.
  if (taping) backend.keepRingSums(x.dataId, ringKey(g, indexMat), r);
  else backend.freeScratch(r);
  if (bias || act) backend.addon.biasAct(y, bias ? backend.f32(bias) : null, P, cout, act);
  return finish(backend, y, [g.batch, g.outH, g.outW, cout], a);
}

export const gmrConv2DConfig = nativeKernel(GMR_CONV_2D, gmrConv2D);
