/** GMRConv2DBackpropInput on the native backends: D = dy·Φ (SGEMM per group), then ringScatter back to x's positions. */
import { invalid } from '@gmr-conv/core';
import { GMR_CONV_2D_BACKPROP_INPUT, type GMRKernelArgs } from '@gmr-conv/core/kernel';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import { finish, geometry, GMR_COUNTERS, mixingOperand, ringTaps, toNHWC, unsupportedReason } from './gmr_conv_impl.js';
import { nativeKernel } from './native_util.js';

export function gmrConv2DBackpropInput({
  inputs,
  backend,
  attrs: a,
}: GMRKernelArgs<typeof GMR_CONV_2D_BACKPROP_INPUT, NativeBackend>) {
  const why = unsupportedReason(a);
  if (why !== null)
    invalid(
      `@gmr-conv/kernels-cuda ${GMR_CONV_2D_BACKPROP_INPUT}`,
      'attrs',
      why,
      'a 2D non-transposed convolution with a known padding mode',
    );
  count(GMR_COUNTERS.backpropInput);
  const { dy, weight, indexMat } = inputs;
  const logSigmas = a.hasLogSigmas && inputs.logSigmas && inputs.logSigmas.size > 0 ? inputs.logSigmas : null;
  const [cout, cinG] = weight.shape as [number, number, number];
  const g = geometry(a, a.inputShape, weight.shape);
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  const phi = mixingOperand(backend, weight, logSigmas, a);
  const dyl = toNHWC(dy, a);
  const d = backend.allocFloat32(P * g.cin * g.n);
  const dyv = backend.f32(dyl);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(
      false,
      false,
      P,
      k,
      coutG,
      1,
      dyv,
      grp * coutG,
      cout,
      phi,
      grp * coutG * k,
      k,
      0,
      d,
      grp * k,
      g.cin * g.n,
    );
  }
  backend.freeScratch(phi);
  if (dyl !== dy) dyl.dispose();
  const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
  const dx = backend.allocFloat32(g.batch * g.inH * g.inW * g.cin);
  backend.addon.ringScatter(d, taps, g.packed, dx);
  backend.freeScratch(d);
  return finish(backend, dx, [g.batch, g.inH, g.inW, g.cin], a);
}

export const gmrConv2DBackpropInputConfig = nativeKernel(GMR_CONV_2D_BACKPROP_INPUT, gmrConv2DBackpropInput);
