/**
 * The filter basis of GMRSteerableConv2D in GMR's binary-ring form.
 *
 * The filter from input field i (order m_in) to output field o (order m_out) is R_{io}(r)·e^{inφ}, n = m_out − m_in,
 * with the GMR radial profile R_{io} = Σ_j θ[o, i, j]·G_j and G = P(σ)·M (the smoothed rings). Split into real
 * parts, C = R·cos|n|φ and S = sign(n)·R·sin|n|φ, and cross-correlating z = a + ib with C + iS gives
 *   Re y = a⋆C − b⋆S,   Im y = a⋆S + b⋆C.
 * Every real (input channel, output channel) pair therefore uses exactly one angular component
 * ang ∈ {1, cos φ, sin φ, cos 2φ, sin 2φ} with a sign ±1, and since G∘ang = (P·M)∘ang = P·(M∘ang), the whole
 * layer is one GMR convolution whose "rings" are the angle-weighted masks M_r∘ang_c and whose mixing weights are
 * ±Φ with Φ[o, i, r] = Σ_j θ[o, i, j]·P[j, r]. This file builds the fixed parts: the masks and the tables that place
 * Φ into the op's weight layout [Cout, Cin, rows]: one-hot matrices that spread Φ to channels (the field of each
 * channel) and pick each row's ring, and the ±1/0 sign of each (channel pair, row). Products with one-hot matrices
 * rather than gathers: a gather's gradient (UnsortedSegmentSum) costs segments × entries on the cpu kernels (2.4 s per
 * training step for a 16 → [8, 8, 8] layer with one flat gather, still ~0.2 s with per-axis ones), a matMul's is a
 * matMul; and a product with 0/1 entries is exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { angularFactors } from '../layers/gmr_harmonic_conv.js';
import { gaussianMatrix, type SigmaClip } from '../mixture/gaussian_mixture.js';
import { mixingWeightsAttrs } from '../kernel/mixing_weights.js';
import {
  STEERABLE_MIXING_WEIGHTS,
  STEERABLE_MIXING_WEIGHTS_GRAD,
  type SteerableMixingAttrs,
} from '../kernel/field_kernel_names.js';
import { type Fields, fieldEntries, fieldLayout } from './fields.js';

/** Angular components, in mask-row order: 1, cos φ, sin φ, cos 2φ, sin 2φ. */
export const ANGULAR_COMPONENTS = ['one', 'cos1', 'sin1', 'cos2', 'sin2'] as const;

/** Values of the 5 angular components at every tap (the centre tap is 0 for all but the constant). */
export function angularComponents(kernelSize: [number, number]): Float32Array[] {
  const first = angularFactors(kernelSize, 1);
  const second = angularFactors(kernelSize, 2);
  return [new Float32Array(first.cos.length).fill(1), first.cos, first.sin, second.cos, second.sin];
}

/**
 * Per-ring factors for cos 2φ and sin 2φ that give both the same second moment on that ring's taps.
 * Sampled on the pixel grid, cos 2φ lives on the axis taps and sin 2φ on the diagonal ones, which a ring holds in
 * unequal numbers and at unequal radii (ring 1 of a 3×3 neighbourhood: Σ cos 2φ·(x² − y²) = 4 but
 * Σ sin 2φ·2xy = 8), so at 45°, where the two swap roles, an order-2 filter is off by that ratio even on smooth
 * input. Scaling cos 2φ by √(m_s/m_c) and sin 2φ by √(m_c/m_s) balances them; neither mixes with the other under
 * the 8 grid symmetries, so D4 equivariance stays exact.
 */
export function secondOrderBalance(
  kernelSize: [number, number],
  ringMasksFlat: Float32Array,
  numRings: number,
): { cos: number[]; sin: number[] } {
  const [kh, kw] = kernelSize;
  const taps = kh * kw;
  const { cos, sin } = angularFactors(kernelSize, 2);
  const out = { cos: new Array<number>(numRings).fill(1), sin: new Array<number>(numRings).fill(1) };
  for (let r = 0; r < numRings; r++) {
    let mc = 0;
    let ms = 0;
    for (let t = 0; t < taps; t++) {
      const w = ringMasksFlat[r * taps + t]!;
      if (w === 0) continue;
      const dy = Math.floor(t / kw) - (kh - 1) / 2;
      const dx = (t % kw) - (kw - 1) / 2;
      mc += w * cos[t]! * (dx * dx - dy * dy);
      ms += w * sin[t]! * 2 * dx * dy;
    }
    if (mc > 0 && ms > 0) {
      out.cos[r] = Math.sqrt(ms / mc);
      out.sin[r] = Math.sqrt(mc / ms);
    }
  }
  return out;
}

/** One (input channel → output channel) link: which component, which sign, which Φ slot (o, i). */
export interface SteerableLink {
  cin: number;
  cout: number;
  component: number;
  sign: 1 | -1;
  inField: number;
  outField: number;
}

/** Every non-zero link of a layer from `inputFields` to `fields` (the formulas in this file's header). */
export function steerableLinks(inputFields: Fields, fields: Fields): SteerableLink[] {
  const links: SteerableLink[] = [];
  const ins = fieldEntries(inputFields);
  const outs = fieldEntries(fields);
  for (const o of outs) {
    for (const i of ins) {
      const n = o.order - i.order;
      const k = Math.abs(n);
      const sgn = n < 0 ? -1 : 1;
      const compC = k === 0 ? 0 : 2 * k - 1;
      const compS = k === 0 ? -1 : 2 * k;
      const add = (cin: number, cout: number, component: number, sign: 1 | -1) => {
        if (cin >= 0 && cout >= 0 && component >= 0)
          links.push({ cin, cout, component, sign, inField: i.index, outField: o.index });
      };
      add(i.re, o.re, compC, 1); // Re y += a⋆C
      add(i.im, o.re, compS, -sgn as 1 | -1); // Re y −= b⋆S
      add(i.re, o.im, compS, sgn as 1 | -1); // Im y += a⋆S
      add(i.im, o.im, compC, 1); // Im y += b⋆C
    }
  }
  return links;
}

export interface SteerableBasis {
  /** Angle-weighted ring masks M_r∘ang_c that are not all zero, [rows, taps]. */
  masks: Float32Array;
  rows: number;
  taps: number;
  /** Component and ring of each row. */
  rowComponent: Int32Array;
  rowRing: Int32Array;
  /** The field of each output channel [Cout] and of each input channel [Cin]. */
  outFieldOfChannel: Int32Array;
  inFieldOfChannel: Int32Array;
  /** ±1/0 per (output channel, input channel, row) [Cout·Cin·rows]: the sign of the pair's link, 0 where it uses another component. */
  sign: Float32Array;
  cin: number;
  cout: number;
}

/**
 * The masks and index tables of a layer. `ringMasksFlat` is the binary ring geometry [numRings, taps]. Mask rows
 * that no link uses, or that are zero everywhere (the centre ring times cos/sin), are dropped.
 */
export function steerableBasis(
  inputFields: Fields,
  fields: Fields,
  kernelSize: [number, number],
  ringMasksFlat: Float32Array,
  numRings: number,
): SteerableBasis {
  const taps = kernelSize[0] * kernelSize[1];
  const ang = angularComponents(kernelSize);
  const balance = secondOrderBalance(kernelSize, ringMasksFlat, numRings);
  const links = steerableLinks(inputFields, fields);
  const used = new Set(links.map((l) => l.component));
  const rowOf = new Map<string, number>();
  const rowComponent: number[] = [];
  const rowRing: number[] = [];
  const rowsData: number[] = [];
  for (let c = 0; c < ang.length; c++) {
    if (!used.has(c)) continue;
    for (let r = 0; r < numRings; r++) {
      const row = new Array<number>(taps);
      let any = false;
      for (let t = 0; t < taps; t++) {
        const factor = c === 3 ? balance.cos[r]! : c === 4 ? balance.sin[r]! : 1;
        row[t] = ringMasksFlat[r * taps + t]! * ang[c]![t]! * factor;
        if (row[t] !== 0) any = true;
      }
      if (!any) continue;
      rowOf.set(`${c}:${r}`, rowComponent.length);
      rowComponent.push(c);
      rowRing.push(r);
      rowsData.push(...row);
    }
  }
  const rows = rowComponent.length;
  const cin = fieldLayout(inputFields).channels;
  const cout = fieldLayout(fields).channels;
  const outFieldOfChannel = new Int32Array(cout);
  const inFieldOfChannel = new Int32Array(cin);
  for (const f of fieldEntries(fields)) for (const c of [f.re, f.im]) if (c >= 0) outFieldOfChannel[c] = f.index;
  for (const f of fieldEntries(inputFields)) for (const c of [f.re, f.im]) if (c >= 0) inFieldOfChannel[c] = f.index;
  const sign = new Float32Array(cout * cin * rows);
  for (const l of links)
    for (let row = 0; row < rows; row++)
      if (rowComponent[row] === l.component) sign[(l.cout * cin + l.cin) * rows + row] = l.sign;
  return {
    masks: Float32Array.from(rowsData),
    rows,
    taps,
    rowComponent: Int32Array.from(rowComponent),
    rowRing: Int32Array.from(rowRing),
    outFieldOfChannel,
    inFieldOfChannel,
    sign,
    cin,
    cout,
  };
}

/** The basis tables as tensors (the layer keeps them). */
export interface SteerableTables {
  /** One-hot [Cout, outFields]: output channel → its field. */
  outFields: tf.Tensor2D;
  /** One-hot [inFields, Cin]: input field → its channels. */
  inFields: tf.Tensor2D;
  /** One-hot [numRings, rows]: each mask row's ring. */
  rings: tf.Tensor2D;
  sign: tf.Tensor3D;
  /** The signs again, laid out [rows, Cin·Cout] for steerableDenseKernel. */
  signRowsFirst: tf.Tensor2D;
  /** The angle-weighted ring masks [rows, taps]. */
  masks: tf.Tensor2D;
  /** The same placement as plain arrays: the attrs of the mixing-weight kernels, less P's clipping. */
  layout: SteerableMixingLayout;
}

/** SteerableMixingAttrs without the σ clipping (the basis alone fixes these). */
export type SteerableMixingLayout = Omit<SteerableMixingAttrs, 'clipSigma' | 'sigmaMin' | 'sigmaMax'>;

/** The kernels' placement arrays of a basis: per channel pair the component and sign of its link (basis.sign). */
export function steerableMixingLayout(basis: SteerableBasis): SteerableMixingLayout {
  const { cout, cin, rows } = basis;
  const linkComponent = new Array<number>(cout * cin).fill(-1);
  const linkSign = new Array<number>(cout * cin).fill(0);
  for (let p = 0; p < cout * cin; p++)
    for (let row = 0; row < rows; row++) {
      const s = basis.sign[p * rows + row]!;
      if (s === 0) continue;
      linkComponent[p] = basis.rowComponent[row]!;
      linkSign[p] = s;
      break;
    }
  return {
    cout,
    cin,
    rows,
    outFieldOfChannel: Array.from(basis.outFieldOfChannel),
    inFieldOfChannel: Array.from(basis.inFieldOfChannel),
    rowRing: Array.from(basis.rowRing),
    rowComponent: Array.from(basis.rowComponent),
    linkComponent,
    linkSign,
  };
}

function oneHot(rows: number, cols: number, hot: (r: number, c: number) => boolean): tf.Tensor2D {
  const v = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (hot(r, c)) v[r * cols + c] = 1;
  return tf.tensor2d(v, [rows, cols]);
}

export function steerableTables(basis: SteerableBasis, numRings: number): SteerableTables {
  const nOut = Math.max(...basis.outFieldOfChannel) + 1;
  const nIn = Math.max(...basis.inFieldOfChannel) + 1;
  return {
    outFields: oneHot(basis.cout, nOut, (c, f) => basis.outFieldOfChannel[c] === f),
    inFields: oneHot(nIn, basis.cin, (f, c) => basis.inFieldOfChannel[c] === f),
    rings: oneHot(numRings, basis.rows, (r, row) => basis.rowRing[row] === r),
    sign: tf.tensor3d(basis.sign, [basis.cout, basis.cin, basis.rows]),
    signRowsFirst: tf.tensor2d(rowsFirst(basis), [basis.rows, basis.cin * basis.cout]),
    masks: tf.tensor2d(basis.masks, [basis.rows, basis.taps]),
    layout: steerableMixingLayout(basis),
  };
}

/** basis.sign [Cout, Cin, rows] as [rows, Cin, Cout]. */
function rowsFirst(basis: SteerableBasis): Float32Array {
  const { cout, cin, rows } = basis;
  const out = new Float32Array(basis.sign.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let r = 0; r < rows; r++) out[(r * cin + i) * cout + o] = basis.sign[(o * cin + i) * rows + r]!;
  return out;
}

/** Whether the current backend registers both steerable mixing-weight kernels. */
function kernelsHere(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(STEERABLE_MIXING_WEIGHTS, b) != null && tf.getKernel(STEERABLE_MIXING_WEIGHTS_GRAD, b) != null;
}

/**
 * W through the two kernels, differentiable in θ and log σ: one kernel forward and one backward in place of the ~20
 * and ~40 small ones of the composed form, each of which the tape records with its saved inputs.
 */
function mixingWeightsKernel(theta: tf.Tensor, logSigmas: tf.Tensor | null, attrs: SteerableMixingAttrs): tf.Tensor3D {
  const a = attrs as unknown as tf.NamedAttrMap;
  const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs, a);
  if (!logSigmas) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([w]);
      return {
        value: run(STEERABLE_MIXING_WEIGHTS, { weight: w }) as tf.Tensor,
        gradFunc: (dW: tf.Tensor, saved: tf.Tensor[]) =>
          (run(STEERABLE_MIXING_WEIGHTS_GRAD, { weight: saved[0]!, dW }) as tf.Tensor[])[0]!,
      };
    });
    return op(theta) as tf.Tensor3D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, s, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([w, s]);
    return {
      value: run(STEERABLE_MIXING_WEIGHTS, { weight: w, logSigmas: s }) as tf.Tensor,
      gradFunc: (dW: tf.Tensor, saved: tf.Tensor[]) =>
        run(STEERABLE_MIXING_WEIGHTS_GRAD, { weight: saved[0]!, logSigmas: saved[1]!, dW }) as tf.Tensor[],
    };
  });
  return op(theta, logSigmas) as tf.Tensor3D;
}

/**
 * The op's mixing weights [Cout, Cin, rows] = ±Φ placed by the basis tables, differentiable in θ and log σ.
 * theta: [outFields, inFields, numRings]; logSigmas: [numRings], or null (binary rings: Φ = θ); clip: P's σ clipping
 * (gaussianMatrix's). Where the backend registers GMRSteerableMixingWeights and its gradient (field_kernel_names.ts),
 * they compute it; elsewhere the composed ops below, P from gaussianMatrix.
 */
export function mixingWeights(
  theta: tf.Tensor,
  logSigmas: tf.Tensor | null,
  clip: SigmaClip,
  tables: SteerableTables,
): tf.Tensor3D {
  const n = theta.shape[2]!;
  if (
    theta.dtype === 'float32' &&
    (!logSigmas || (logSigmas.dtype === 'float32' && logSigmas.size === n)) &&
    kernelsHere()
  )
    return mixingWeightsKernel(theta, logSigmas, { ...tables.layout, ...mixingWeightsAttrs(clip, n) });
  return tf.tidy(() => {
    const [nOut, nIn] = theta.shape as [number, number, number];
    const [cout, cin] = [tables.outFields.shape[0], tables.inFields.shape[1]];
    const rows = tables.rings.shape[1];
    const flatTheta = tf.reshape(theta, [nOut * nIn, n]);
    // Φ[k] = Σ_j θ_j·P[j, k], [nOut·nIn, n]
    const phi = logSigmas ? tf.matMul(flatTheta, gaussianMatrix(logSigmas, clip)) : flatTheta;
    // Per output channel, per input channel: Φ of their fields, then the ring of each row.
    const byOut = tf.matMul(tables.outFields, tf.reshape(phi, [nOut, nIn * n])); // [Cout, nIn·n]
    const ringMajor = tf.reshape(tf.transpose(tf.reshape(byOut, [cout, nIn, n]), [0, 2, 1]), [cout * n, nIn]);
    const byIn = tf.transpose(tf.reshape(tf.matMul(ringMajor, tables.inFields), [cout, n, cin]), [0, 2, 1]); // [Cout, Cin, n]
    const byRow = tf.reshape(tf.matMul(tf.reshape(byIn, [cout * cin, n]), tables.rings), [cout, cin, rows]);
    return tf.mul(byRow, tables.sign) as tf.Tensor3D;
  });
}

/**
 * The dense kernel [k, k, Cin, Cout] straight from θ, with no transposes: the same products as mixingWeights then
 * synthesizeKernel, taken in an order that keeps Cout the fastest axis throughout, so the weight assembly is 6 ops
 * (and 6 in its gradient) instead of 17. It runs on every training step of the 'dense' path, where the op count
 * mattered more than the sizes (a few thousand numbers).
 *   Φ = θ·P                                     [nOut·nIn, n]
 *   E1[j, fi, cout] = Φ[fo(cout), fi, j]         (out-field one-hot, after one transpose of Φ to [n, nIn, nOut])
 *   E2[j, cin, cout] = E1[j, fi(cin), cout]      (in-field one-hot, batched over j)
 *   W[row, cin, cout] = sign·E2[ring(row), ...]  (ring one-hot, then the link signs)
 *   kernel[t, cin, cout] = Σ_row masks[row, t]·W[row, cin, cout]
 */
export function steerableDenseKernel(
  theta: tf.Tensor,
  gaussian: tf.Tensor2D | null,
  tables: SteerableTables,
  kernelSize: [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const [nOut, nIn, n] = theta.shape as [number, number, number];
    const [cout, cin] = [tables.outFields.shape[0], tables.inFields.shape[1]];
    const flatTheta = tf.reshape(theta, [nOut * nIn, n]);
    const phi = gaussian ? tf.matMul(flatTheta, gaussian) : flatTheta;
    const byRing = tf.transpose(tf.reshape(phi, [nOut, nIn, n]), [2, 1, 0]); // [n, nIn, nOut]
    const e1 = tf.matMul(tf.reshape(byRing, [n * nIn, nOut]), tables.outFields, false, true); // [n·nIn, Cout]
    const e2 = tf.matMul(tf.reshape(tables.inFields, [1, nIn, cin]), tf.reshape(e1, [n, nIn, cout]), true, false); // [n, Cin, Cout]
    const w = tf.mul(tf.matMul(tables.rings, tf.reshape(e2, [n, cin * cout]), true, false), tables.signRowsFirst); // [rows, Cin·Cout]
    return tf.reshape(tf.matMul(tables.masks, w, true, false), [
      kernelSize[0],
      kernelSize[1],
      cin,
      cout,
    ]) as tf.Tensor4D;
  });
}

/** The channel blocks of a field layout whose pairs share one link: order 0, Re/Im of order 1, Re/Im of order 2. */
function channelBlocks(fields: Fields): [number, number][] {
  const [n0, n1, n2] = fields;
  const sizes = [n0, n1, n1, n2, n2];
  const out: [number, number][] = [];
  let at = 0;
  for (const s of sizes) {
    if (s > 0) out.push([at, at + s]);
    at += s;
  }
  return out;
}

/**
 * Fewest input channels for which the block kernels pay: with fewer, a block's product has a few columns and its
 * per-call work outweighs the zeros skipped (the CLI model's first layer, 1 → 56 k7 28², batch 32, one thread: forward
 * 3.4 ms in blocks against 1.4 ms over the whole W), and the plain GMR op runs.
 */
export const STEERABLE_BLOCK_MIN_CIN = 8;

/**
 * The blocks of W that the steerable kernels read (SteerableConvAttrs.plan): per output channel block, the input
 * channel blocks it links with and the mask rows of their component. Every pair of an (output block, input block) links
 * through the same component (the orders and Re/Im parts fix it), so W is zero outside these blocks; ~3 of 11 rows
 * per pair for k = 5. Null below STEERABLE_BLOCK_MIN_CIN input channels, or when the basis's rows of a component are not contiguous (they are, component-major, as
 * steerableBasis builds them) or a block's pairs disagree, where the caller keeps the plain GMR op.
 */
export function steerableBlockPlan(basis: SteerableBasis, inputFields: Fields, fields: Fields): number[] | null {
  if (basis.cin < STEERABLE_BLOCK_MIN_CIN) return null;
  const layout = steerableMixingLayout(basis);
  const rowsOf = (c: number): [number, number] | null => {
    const rows = Array.from(basis.rowComponent.keys()).filter((r) => basis.rowComponent[r] === c);
    if (rows.length === 0 || rows[rows.length - 1]! - rows[0]! + 1 !== rows.length) return null;
    return [rows[0]!, rows[rows.length - 1]! + 1];
  };
  const outBlocks = channelBlocks(fields);
  const inBlocks = channelBlocks(inputFields);
  const plan: number[] = [outBlocks.length];
  for (const [o0, o1] of outBlocks) {
    const segs: number[] = [];
    for (const [i0, i1] of inBlocks) {
      const c = layout.linkComponent[o0 * basis.cin + i0]!;
      for (let o = o0; o < o1; o++)
        for (let i = i0; i < i1; i++) if (layout.linkComponent[o * basis.cin + i] !== c) return null;
      if (c < 0) continue;
      const rows = rowsOf(c);
      if (!rows) return null;
      segs.push(i0, i1, rows[0], rows[1]);
    }
    plan.push(o0, o1, segs.length / 4, ...segs);
  }
  return plan;
}
