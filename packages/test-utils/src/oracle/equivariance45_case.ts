/**
 * Checks one oracle file with meta.kind == "equivariance45" (a layer's output on an input and on that input rotated by 45°)
 * against our rotation and our GMR layer, in float32:
 *  - rotateBilinear(input) vs `rotated_input`, and rotateBilinear(oracle `output`)
 *    vs `rotated_output` (our rotation alone, on the oracle's own data);
 *  - gmrConv2d(input) vs `output`, gmrConv2d(oracle `rotated_input`) vs
 *    `output_of_rotated_input` (our layer alone);
 *  - the recomputed metric gmr_45 (y1 = f(rot x), y2 = rot f(x), r ≤ radius)
 *    vs the oracle's, and the 90° sanity metric (must be float error).
 * Array comparisons use max|ours − oracle| / max|oracle| ≤ tolerance (1e-4);
 * metrics |ours − oracle| / oracle ≤ metricTolerance (1e-3: float32 vs float64).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConv2d, rotateBilinear, equivarianceErrorFromValues, type GMRConvOptions } from '@gmr-conv/core';
import { type OracleArray, relError, toFloat32 } from './load.js';

export interface Equivariance45Result {
  name: string;
  ok: boolean;
  /** Largest error per compared quantity (relative, see the header). */
  worst: Record<string, number>;
  messages: string[];
}

export interface Equivariance45Options {
  /** Arrays: max abs error relative to the reference's max abs (default 1e-4). */
  tolerance?: number;
  /** Metrics (rel_l2, max_abs, max_abs_over_max_ref): relative error (default 1e-3). */
  metricTolerance?: number;
  /** Largest 90° rel_l2 accepted (float32 round-off; default 1e-5). */
  sanityTolerance?: number;
}

const METRIC_KEYS = [
  ['rel_l2', 'relL2'],
  ['max_abs', 'maxAbs'],
  ['max_abs_over_max_ref', 'maxAbsOverMaxRef'],
] as const;

function tensorOf(a: OracleArray): tf.Tensor {
  return tf.tensor(toFloat32(a), a.shape, 'float32');
}

/** Pixel radius of the metric: parsed from `method.metric` ("r <= 15"), else one pixel inside the inscribed circle. */
function metricRadius(json: any, size: number): number {
  const text = String(json?.method?.metric ?? '');
  const m = /r\s*<=\s*([0-9.]+)/.exec(text);
  if (m) return Number(m[1]);
  return (size - 1) / 2 - 1;
}

/** Our op options for an entry (the layer is GMR_Conv2d(2, 3, k, padding='same') in train mode: dw path). */
function layerOptions(entry: any): GMRConvOptions {
  const kw = entry.constructor_kwargs ?? {};
  return {
    kernelSize: entry.kernel_size ?? kw.kernel_size,
    strides: kw.stride ?? 1,
    padding: kw.padding ?? 'same',
    dilations: kw.dilation ?? 1,
    groups: kw.groups ?? 1,
    // The reference's default two-stage (dw) path pads with zeros whatever padding_mode says, and the vectors come from it.
    paddingMode: 'zeros',
    forceCircular: entry.force_circular ?? kw.force_circular ?? true,
    // A reference quirk: its constructor passes dw_fwd on as clip_sigma, so the vectors were made with that clipping.
    clipSigma: kw.dw_fwd ?? true,
    dataFormat: 'channelsFirst',
  };
}

function entryName(e: any, i: number): string {
  if (e.kernel_size == null) return `entry${i}`;
  return `k${e.kernel_size}_fc${e.force_circular ? 1 : 0}_gmr${e.gaussian_mixture_ring ? 1 : 0}`;
}

/**
 * The comparisons as a generator: it yields each tensor it needs to read and
 * receives its values, so one body serves the synchronous driver (dataSync:
 * cpu, wasm) and the asynchronous one (data(): also webgpu, where Node has no
 * synchronous read-back). Every tensor it creates is tracked and disposed.
 */
function* caseSteps(
  json: any,
  opts: Equivariance45Options,
  out: Equivariance45Result,
): Generator<tf.Tensor, void, ArrayLike<number>> {
  const tol = opts.tolerance ?? 1e-4;
  const metricTol = opts.metricTolerance ?? 1e-3;
  const sanityTol = opts.sanityTolerance ?? 1e-5;
  const { worst, messages } = out;
  const note = (key: string, err: number, limit: number, what = 'relative error') => {
    worst[key] = Math.max(worst[key] ?? 0, err);
    if (!(err <= limit)) {
      out.ok = false;
      messages.push(`${key}: ${what} ${err.toExponential(2)} > ${limit}`);
    }
  };
  if (!json?.input || !Array.isArray(json?.entries)) {
    out.ok = false;
    messages.push('not an equivariance45 file: `input` or `entries` missing');
    return;
  }
  const theta: number = json.method?.theta_deg ?? 45;
  const shape: number[] = json.input.shape;
  const size = shape[shape.length - 1];
  const radius = metricRadius(json, size);
  const metricOpts = { radius, dataFormat: 'channelsFirst' as const };
  const rot = (t: tf.Tensor, deg: number) => rotateBilinear(t, deg, 'channelsFirst');

  const x = tensorOf(json.input);
  const xRot = rot(x, theta);
  if (json.rotated_input) note('rotated_input', relError(yield xRot, json.rotated_input.data), tol);
  const xRotOracle = json.rotated_input ? tensorOf(json.rotated_input) : null;
  const shared = [x, xRot, xRotOracle];
  try {
    for (let i = 0; i < json.entries.length; i++) {
      const e = json.entries[i];
      const key = entryName(e, i);
      const owned: tf.Tensor[] = [];
      const own = <T extends tf.Tensor>(t: T): T => {
        owned.push(t);
        return t;
      };
      try {
        const weights = {
          weight: own(tensorOf(e.weight)),
          bias: e.bias ? own(tensorOf(e.bias)) : null,
          logSigmas: e.log_sigmas && e.gaussian_mixture_ring !== false ? own(tensorOf(e.log_sigmas)) : null,
        };
        const o = layerOptions(e);
        const f = (t: tf.Tensor) => own(gmrConv2d(t, weights, o));
        const y = f(x);
        if (e.output) note(`${key}.output`, relError(yield y, e.output.data), tol);
        if (e.output && e.rotated_output) {
          const ours = own(rot(own(tensorOf(e.output)), theta));
          note(`${key}.rotated_output`, relError(yield ours, e.rotated_output.data), tol);
        }
        if (e.output_of_rotated_input && xRotOracle) {
          note(`${key}.output_of_rotated_input`, relError(yield f(xRotOracle), e.output_of_rotated_input.data), tol);
        }
        // The metric, recomputed end to end with our rotation and our layer.
        const y1 = f(xRot);
        const y2 = own(rot(y, theta));
        const m = equivarianceErrorFromValues(yield y1, yield y2, y1.shape, metricOpts);
        if (e.gmr_45) {
          for (const [theirs, ours] of METRIC_KEYS) {
            const ref = e.gmr_45[theirs];
            if (typeof ref !== 'number') continue;
            const err = ref === 0 ? Math.abs(m[ours]) : Math.abs(m[ours] - ref) / Math.abs(ref);
            note(`${key}.gmr_45.${theirs}`, err, metricTol);
          }
        }
        // 90° is exact on the grid: only float32 round-off may remain.
        if (e.gmr_90_sanity) {
          const a = f(own(rot(x, 90)));
          const b = own(rot(y, 90));
          const m90 = equivarianceErrorFromValues(yield a, yield b, y.shape, metricOpts);
          note(`${key}.gmr_90.rel_l2`, m90.relL2, sanityTol, 'value');
        }
      } finally {
        tf.dispose(owned);
      }
    }
  } finally {
    tf.dispose(shared.filter((t): t is tf.Tensor => t != null));
  }
}

function newResult(json: any): Equivariance45Result {
  return {
    name: json?.name ?? `equivariance45${json?.meta?.set ? `_${json.meta.set}` : ''}`,
    ok: true,
    worst: {},
    messages: [],
  };
}

/** Synchronous check (reads with dataSync: cpu, wasm, webgl). */
export function checkEquivariance45Case(json: any, opts: Equivariance45Options = {}): Equivariance45Result {
  const out = newResult(json);
  const steps = caseSteps(json, opts, out);
  try {
    for (let r = steps.next(); !r.done; r = steps.next(r.value.dataSync())) {
      // each yielded tensor is read and its values sent back
    }
  } catch (e) {
    steps.return(); // runs the generator's finally blocks: no leaked tensors
    throw e;
  }
  return out;
}

/** Same check with asynchronous reads (works on webgpu in Node, where dataSync cannot). */
export async function checkEquivariance45CaseAsync(
  json: any,
  opts: Equivariance45Options = {},
): Promise<Equivariance45Result> {
  const out = newResult(json);
  const steps = caseSteps(json, opts, out);
  try {
    for (let r = steps.next(); !r.done; r = steps.next((await r.value.data()) as ArrayLike<number>)) {
      // each yielded tensor is read and its values sent back
    }
  } catch (e) {
    steps.return();
    throw e;
  }
  return out;
}
