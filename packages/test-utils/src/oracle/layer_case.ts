/**
 * Checks one oracle layer file (meta.kind == "layer") against our implementation:
 * masks (exactly), smoothed index matrix, kernel, forward output of each path,
 * eval output and every gradient, in float32 (relative error ≤ tolerance).
 * Where the reference raised, our output is checked against an independent
 * dense computation instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ringMasks,
  smoothedBasis,
  synthesizeKernelOI,
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  type GMRConvOptions,
  GMRConv1D,
  GMRConv2D,
  GMRConv3D,
} from '@gmr-conv/core';
import { computeGMRConvInfo } from '@gmr-conv/core/kernel';
import { denseConvReference } from './dense_reference.js';
import { type OracleArray, relError, toFloat32 } from './load.js';

export interface CaseResult {
  name: string;
  ok: boolean;
  /** Largest relative error per compared quantity. */
  worst: Record<string, number>;
  messages: string[];
}

const OPS = { 1: gmrConv1d, 2: gmrConv2d, 3: gmrConv3d } as const;

/** Our op options for the reference's constructor kwargs (PyTorch names → tfjs names). */
export function optionsFromKwargs(
  kw: any,
  effective: any = {},
): GMRConvOptions & { useBias: boolean; gaussianMixtureRing: boolean; sigmaScale: number } {
  const padding = typeof kw.padding === 'string' ? kw.padding : kw.padding;
  return {
    kernelSize: kw.kernel_size,
    strides: kw.stride,
    padding,
    paddingMode: kw.padding_mode,
    dilations: kw.dilation,
    groups: kw.groups,
    forceCircular: kw.force_circular,
    numRings: kw.num_rings,
    // A reference quirk: its constructor passes dw_fwd on as clip_sigma, so the vectors were made with that clipping.
    clipSigma: effective.clip_sigma ?? kw.dw_fwd ?? true,
    trainIndexMat: kw.train_index_mat,
    useBias: kw.bias,
    gaussianMixtureRing: kw.gaussian_mixture_ring,
    sigmaScale: kw.gaussian_sigma_scale,
  };
}

function tensorOf(a: OracleArray): tf.Tensor {
  return tf.tensor(toFloat32(a), a.shape, 'float32');
}

export async function checkLayerCase(json: any, opts: { tolerance?: number } = {}): Promise<CaseResult> {
  const tol = opts.tolerance ?? 1e-4;
  const name: string = json.name;
  const worst: Record<string, number> = {};
  const messages: string[] = [];
  const note = (key: string, err: number) => {
    worst[key] = Math.max(worst[key] ?? 0, err);
    if (!(err <= tol)) messages.push(`${key}: relative error ${err.toExponential(2)} > ${tol}`);
  };
  const dims: 1 | 2 | 3 = json.dims;
  const kw = json.constructor_kwargs;
  const o = optionsFromKwargs(kw, json.effective_attributes ?? {});
  const ks: number[] = Array.isArray(kw.kernel_size) ? kw.kernel_size : new Array(dims).fill(kw.kernel_size);

  const before = tf.memory().numTensors;
  // Comparisons are collected inside tidy and read back asynchronously afterwards (webgpu in Node has no sync read).
  const pending: Array<[string, tf.Tensor, ArrayLike<number>]> = [];
  const cmp = (key: string, t: tf.Tensor, ref: ArrayLike<number>) => pending.push([key, tf.keep(t), ref]);
  tf.tidy(() => {
    const geom = ringMasks(ks, { forceCircular: o.forceCircular, numRings: o.numRings });
    if (json.reference_error) {
      messages.push(
        `reference raised (${json.reference_error.error}); checked against the independent dense computation`,
      );
      checkAgainstIndependent(dims, ks, geom, o, kw, cmp);
      return;
    }
    const v = json.variants.float32;
    // Masks must be identical.
    const masksRef = v.weight_index_mat.data as number[];
    const masksEqual = masksRef.length === geom.masks.length && masksRef.every((m, i) => m === geom.masks[i]);
    worst.masks = masksEqual ? 0 : 1;
    if (!masksEqual) messages.push('masks differ from the reference');

    const weight = tensorOf(v.weight);
    const logSigmas = v.log_sigmas && o.gaussianMixtureRing ? tensorOf(v.log_sigmas) : null;
    const bias = v.bias ? tensorOf(v.bias) : null;
    const masks = tf.tensor2d(Float32Array.from(masksRef), [geom.numRings, geom.masks.length / geom.numRings]);
    const clip = { clipSigma: o.clipSigma };
    const basis = smoothedBasis(masks, logSigmas, clip);
    cmp('index_matrix', basis, v.index_matrix.data);
    const kernel = synthesizeKernelOI(weight, basis);
    cmp('kernel', kernel, v.kernel.data);

    const x = tensorOf(v.input); // channels-first
    const R = tensorOf(v.R);
    const xLast = tf.transpose(x, [0, ...Array.from({ length: dims }, (_, i) => i + 2), 1]);
    const RLast = tf.transpose(R, [0, ...Array.from({ length: dims }, (_, i) => i + 2), 1]);
    const ref = json.variants.float32.paths;
    const dense = ref.dense;
    const op = OPS[dims];
    for (const path of ['two-stage', 'dense'] as const) {
      for (const layout of ['channelsFirst', 'channelsLast'] as const) {
        const xin = layout === 'channelsFirst' ? x : xLast;
        const rin = layout === 'channelsFirst' ? R : RLast;
        const params = [xin, weight, ...(logSigmas ? [logSigmas] : []), masks, ...(bias ? [bias] : [])];
        const f = (...p: tf.Tensor[]) => {
          let i = 0;
          const xx = p[i++];
          const w = p[i++];
          const ls = logSigmas ? p[i++] : null;
          const m = p[i++];
          const b = bias ? p[i++] : null;
          const y = op(xx, { weight: w, logSigmas: ls, indexMat: m, bias: b }, { ...o, path, dataFormat: layout });
          return tf.sum(tf.mul(y, rin));
        };
        const yOut = op(xin, { weight, logSigmas, indexMat: masks, bias }, { ...o, path, dataFormat: layout });
        const yFirst =
          layout === 'channelsFirst'
            ? yOut
            : tf.transpose(yOut, [0, dims + 1, ...Array.from({ length: dims }, (_, i) => i + 1)]);
        const tag = `${path}/${layout}`;
        cmp(`output`, yFirst, dense.train_output.data);
        cmp(`eval_output`, yFirst, dense.eval_output.data);
        // Where the reference's own two-stage (dw) path worked and agreed, ours must match it too.
        if (
          path === 'two-stage' &&
          ref.dw &&
          !ref.dw.error &&
          (json.variants.float64.dw_minus_dense_max_abs?.train_output ?? 0) < 1e-6
        ) {
          cmp('output_vs_reference_dw', yFirst, ref.dw.train_output.data);
        }
        const grads = tf.grads(f)(params);
        let gi = 0;
        const gx = grads[gi++];
        const gxFirst =
          layout === 'channelsFirst'
            ? gx
            : tf.transpose(gx, [0, dims + 1, ...Array.from({ length: dims }, (_, i) => i + 1)]);
        cmp('grad_input', gxFirst, dense.grads.input.data);
        cmp('grad_weight', grads[gi++], dense.grads.weight.data);
        if (logSigmas) {
          const g = grads[gi++];
          if (dense.grads.log_sigmas) cmp('grad_log_sigmas', g, dense.grads.log_sigmas.data);
        }
        const gMask = grads[gi++];
        if (dense.grads.weight_index_mat) cmp('grad_index_mat', gMask, dense.grads.weight_index_mat.data);
        if (bias) cmp('grad_bias', grads[gi++], dense.grads.bias.data);
        void tag;
      }
    }
    checkLayerClass(json, dims, o, x, ks, cmp);
    if (ref.dw?.error)
      messages.push(
        `reference dw path raised (${String(ref.dw.error).slice(0, 60)}…); our two-stage path matched its dense path`,
      );
  });
  for (const [key, t, ref] of pending) note(key, relError(await t.data(), ref));
  tf.dispose([...new Set(pending.map((p) => p[1]))]);
  const leaked = tf.memory().numTensors - before;
  if (leaked > 0) messages.push(`leaked ${leaked} tensors`);
  return {
    name,
    ok: messages.every((m) => !m.includes('>') && !m.startsWith('leaked') && !m.startsWith('masks')),
    worst,
    messages,
  };
}

/** For cases the reference cannot run (e.g. GMR_Conv1d): our paths vs plain float64 loops. */
function checkAgainstIndependent(
  dims: 1 | 2 | 3,
  ks: number[],
  geom: ReturnType<typeof ringMasks>,
  o: ReturnType<typeof optionsFromKwargs>,
  kw: any,
  cmp: (k: string, t: tf.Tensor, ref: ArrayLike<number>) => void,
) {
  const cin = kw.in_channels;
  const cout = kw.out_channels;
  const groups = kw.groups ?? 1;
  const n = geom.numRings;
  const spatial = new Array(dims).fill(9);
  const rand = (len: number, seed: number) =>
    Float32Array.from({ length: len }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 0.9);
  const xData = rand(2 * cin * spatial.reduce((a, b) => a * b, 1), 1);
  const wData = rand(cout * (cin / groups) * n, 2);
  const bData = o.useBias ? rand(cout, 3) : null;
  const x = tf.tensor(xData, [2, cin, ...spatial]);
  const weight = tf.tensor(wData, [cout, cin / groups, n]);
  const sigma0 = ks[0] / (2 * (n - 1)) / (o.sigmaScale ?? 2.355);
  const logSigmas = o.gaussianMixtureRing ? tf.tensor1d(new Float32Array(n).fill(Math.log(sigma0))) : null;
  const bias = bData ? tf.tensor1d(bData) : null;
  const masks = tf.tensor2d(geom.masks, [n, geom.masks.length / n]);
  // The kernel for the loop reference, computed in plain JS (θ · P · M).
  const taps = geom.masks.length / n;
  const s = Math.min(Math.max(Math.fround(sigma0), 1e-2), 2 * n);
  const P = Array.from({ length: n }, (_, j) =>
    Array.from({ length: n }, (_, i) =>
      o.gaussianMixtureRing ? Math.exp(-0.5 * ((i - j) / s) ** 2) / (s * 2.5066) : i === j ? 1 : 0,
    ),
  );
  const kernel = new Float64Array(cout * (cin / groups) * taps);
  for (let oc = 0; oc < cout * (cin / groups); oc++)
    for (let p = 0; p < taps; p++) {
      let acc = 0;
      for (let i = 0; i < n; i++)
        for (let l = 0; l < n; l++) acc += wData[oc * n + i] * P[i][l] * geom.masks[l * taps + p];
      kernel[oc * taps + p] = acc;
    }
  const strides = Array.isArray(kw.stride) ? kw.stride : new Array(dims).fill(kw.stride ?? 1);
  const dilations = Array.isArray(kw.dilation) ? kw.dilation : new Array(dims).fill(kw.dilation ?? 1);
  const geometry = {
    kernelSize: ks,
    strides,
    dilations,
    padding: kw.padding ?? 0,
    dataFormat: 'channelsFirst' as const,
    groups,
  };
  const { pads } = computeGMRConvInfo([2, cin, ...spatial], [cout, cin / groups, n], geometry);
  const expected = denseConvReference(xData, [2, cin, ...spatial], kernel, [cout, cin / groups, ...ks], bData, {
    strides,
    dilations,
    pads,
    groups,
    paddingMode: kw.padding_mode ?? 'zeros',
  });
  for (const path of ['two-stage', 'dense'] as const) {
    const y = OPS[dims](x, { weight, logSigmas, bias, indexMat: masks }, { ...o, path, dataFormat: 'channelsFirst' });
    cmp('output_vs_independent_dense', y, expected.data);
  }
}

const LAYERS = { 1: GMRConv1D, 2: GMRConv2D, 3: GMRConv3D } as const;

/** Builds our layer from the constructor kwargs, loads the parameters, compares eval (cached) and train outputs. */
function checkLayerClass(
  json: any,
  dims: 1 | 2 | 3,
  o: ReturnType<typeof optionsFromKwargs>,
  x: tf.Tensor,
  ks: number[],
  cmp: (k: string, t: tf.Tensor, ref: ArrayLike<number>) => void,
) {
  const kw = json.constructor_kwargs;
  const v = json.variants.float32;
  const layer = new LAYERS[dims]({
    filters: kw.out_channels,
    kernelSize: ks,
    strides: kw.stride,
    padding: kw.padding,
    paddingMode: kw.padding_mode,
    dilationRate: kw.dilation,
    groups: kw.groups,
    useBias: kw.bias,
    numRings: kw.num_rings,
    forceCircular: kw.force_circular,
    gaussianMixtureRing: kw.gaussian_mixture_ring,
    trainGaussianSigma: kw.train_gaussian_sigma,
    sigmaScale: kw.gaussian_sigma_scale,
    clipSigma: o.clipSigma,
    trainIndexMat: kw.train_index_mat,
    dataFormat: 'channelsFirst',
  });
  layer.build([null, ...x.shape.slice(1)]);
  // Weights by name: tfjs orders trainable weights before non-trainable ones.
  const byName: Record<string, tf.Tensor> = { kernel: tensorOf(v.weight) };
  if (kw.gaussian_mixture_ring) byName.log_sigmas = tensorOf(v.log_sigmas);
  if (kw.bias) byName.bias = tensorOf(v.bias);
  if (kw.train_index_mat)
    byName.index_mat = tf.tensor2d(Float32Array.from(v.weight_index_mat.data), v.weight_index_mat.shape);
  layer.setWeights(layer.weights.map((w) => byName[w.originalName.split('/').pop()!]));
  const dense = v.paths.dense;
  cmp('layer_eval_output', layer.apply(x) as tf.Tensor, dense.eval_output.data);
  cmp('layer_train_output', layer.apply(x, { training: true }) as tf.Tensor, dense.train_output.data);
  layer.disposeCaches();
  for (const w of layer.weights) w.dispose();
}
