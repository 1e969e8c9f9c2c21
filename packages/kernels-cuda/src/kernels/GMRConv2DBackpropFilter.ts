/**
 * GMRConv2DBackpropFilter on the native backends: dΦ = dyᵀ·R per group, with the ring sums R that the forward kept
 * under the tape when it can, recomputed otherwise. On 'native' one addon call (gmrFilterGrad: fixed chunks of
 * positions, each a single-threaded product, summed in order; R recomputed chunk by chunk when it was not kept); on
 * 'cuda' the device SGEMM over all positions (and on 'native' too with GMR_NATIVE_FILTER_GRAD=sgemm, for A/B timing).
 * Core turns dΦ into dθ and d(log σ).
 */
import { invalid } from '@gmr-conv/core';
import { channelsOf, GMR_CONV_2D_BACKPROP_FILTER, type GMRKernelArgs } from '@gmr-conv/core/kernel';
import type { NativeBackend } from '../backend.js';
import { count } from '../counters.js';
import { geometry, GMR_COUNTERS, ringKey, ringSums, ringTaps, toNHWC, unsupportedReason } from './gmr_conv_impl.js';
import { nativeKernel } from './native_util.js';

const SGEMM_ONLY = process.env.GMR_NATIVE_FILTER_GRAD === 'sgemm';

export function gmrConv2DBackpropFilter({
  inputs,
  backend,
  attrs: a,
}: GMRKernelArgs<typeof GMR_CONV_2D_BACKPROP_FILTER, NativeBackend>) {
  const why = unsupportedReason(a);
  if (why !== null)
    invalid(
      `@gmr-conv/kernels-cuda ${GMR_CONV_2D_BACKPROP_FILTER}`,
      'attrs',
      why,
      'a 2D non-transposed convolution with a known padding mode',
    );
  count(GMR_COUNTERS.backpropFilter);
  const { x, dy, indexMat } = inputs;
  const cout = channelsOf(dy.shape, a.dataFormat);
  const cinG = channelsOf(x.shape, a.dataFormat) / a.groups;
  const g = geometry(a, x.shape, [cout, cinG, indexMat.shape[0]!]);
  const coutG = cout / g.groups;
  const k = g.n * cinG;
  const P = g.batch * g.outH * g.outW;
  let r = backend.takeRingSums(x.dataId, ringKey(g, indexMat));
  if (r) count(GMR_COUNTERS.ringSumsReused);
  if (backend.kind === 'native' && !SGEMM_ONLY) {
    const xl = r ? null : toNHWC(x, a);
    const dyl = toNHWC(dy, a);
    const dphi = backend.allocFloat32(cout * cinG * g.n);
    const taps = ringTaps(backend.f32(indexMat), g.n, g.kh, g.kw);
    backend.addon.gmrFilterGrad(xl ? backend.f32(xl) : null, r ?? null, backend.f32(dyl), taps, g.packed, cout, dphi);
    if (xl && xl !== x) xl.dispose();
    if (dyl !== dy) dyl.dispose();
    if (r) backend.freeScratch(r);
    return backend.makeNativeOutput(dphi, [cout, cinG, g.n]);
  }
  if (!r) {
    const xl = toNHWC(x, a);
    r = ringSums(backend, xl, indexMat, g);
    if (xl !== x) xl.dispose();
  }
  const dyl = toNHWC(dy, a);
  const dphiT = new Float32Array(cout * k);
  const dyv = backend.f32(dyl);
  for (let grp = 0; grp < g.groups; grp++) {
    backend.addon.sgemm(
      true,
      false,
      coutG,
      k,
      P,
      1,
      dyv,
      grp * coutG,
      cout,
      r,
      grp * k,
      g.cin * g.n,
      0,
      dphiT,
      grp * coutG * k,
      k,
    );
  }
  if (dyl !== dy) dyl.dispose();
  backend.freeScratch(r);
  const dphi = backend.allocFloat32(cout * cinG * g.n);
  backend.addon.transpose(dphiT, Int32Array.from([cout, g.n, cinG]), Int32Array.from([0, 2, 1]), dphi);
  return backend.makeNativeOutput(dphi, [cout, cinG, g.n]);
}

export const gmrConv2DBackpropFilterConfig = nativeKernel(GMR_CONV_2D_BACKPROP_FILTER, gmrConv2DBackpropFilter);
