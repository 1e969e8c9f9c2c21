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
 * ±Φ with Φ[o, i, r] = Σ_j θ[o, i, j]·P[j, r]. This file builds the fixed parts: the masks and the index/sign
 * tables that place Φ into the op's weight layout [Cout, Cin, rows].
 */
import * as tf from '@tensorflow/tfjs-core';
import { angularFactors } from '../layers/gmr_harmonic_conv.js';
import { Fields, fieldEntries, fieldLayout } from './fields.js';

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
export function secondOrderBalance(kernelSize: [number, number], ringMasksFlat: Float32Array, numRings: number): { cos: number[]; sin: number[] } {
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
        if (cin >= 0 && cout >= 0 && component >= 0) links.push({ cin, cout, component, sign, inField: i.index, outField: o.index });
      };
      add(i.re, o.re, compC, 1); // Re y += a⋆C
      add(i.im, o.re, compS, (-sgn) as 1 | -1); // Re y −= b⋆S
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
  /** Index into the flattened Φ [outFields·inFields·numRings] + one zero slot, per weight entry [Cout, Cin, rows]. */
  gatherIndex: Int32Array;
  /** ±1 (0 where the index is the zero slot), same shape as gatherIndex. */
  sign: Float32Array;
  cin: number;
  cout: number;
}

/**
 * The masks and index tables of a layer. `ringMasksFlat` is the binary ring geometry [numRings, taps]. Mask rows
 * that no link uses, or that are zero everywhere (the centre ring times cos/sin), are dropped.
 */
export function steerableBasis(inputFields: Fields, fields: Fields, kernelSize: [number, number], ringMasksFlat: Float32Array, numRings: number): SteerableBasis {
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
  const nIn = inputFields[0] + inputFields[1] + inputFields[2];
  const nOut = fields[0] + fields[1] + fields[2];
  const zeroSlot = nOut * nIn * numRings;
  const gatherIndex = new Int32Array(cout * cin * rows).fill(zeroSlot);
  const sign = new Float32Array(cout * cin * rows);
  for (const l of links) {
    for (let r = 0; r < numRings; r++) {
      const row = rowOf.get(`${l.component}:${r}`);
      if (row === undefined) continue;
      const at = (l.cout * cin + l.cin) * rows + row;
      gatherIndex[at] = (l.outField * nIn + l.inField) * numRings + r;
      sign[at] = l.sign;
    }
  }
  return { masks: Float32Array.from(rowsData), rows, taps, rowComponent: Int32Array.from(rowComponent), rowRing: Int32Array.from(rowRing), gatherIndex, sign, cin, cout };
}

/**
 * The op's mixing weights [Cout, Cin, rows] = ±Φ placed by the basis tables, differentiable in θ and P.
 * theta: [outFields, inFields, numRings]; gaussian: P [numRings, numRings] or null (binary rings: Φ = θ).
 * `tables` holds the basis' gatherIndex/sign as tensors (kept by the layer).
 */
export function mixingWeights(theta: tf.Tensor, gaussian: tf.Tensor2D | null, tables: { index: tf.Tensor; sign: tf.Tensor }, basis: SteerableBasis): tf.Tensor3D {
  return tf.tidy(() => {
    const [nOut, nIn, n] = theta.shape as [number, number, number];
    const flatTheta = tf.reshape(theta, [nOut * nIn, n]);
    const phi = gaussian ? tf.matMul(flatTheta, gaussian) : flatTheta; // Φ[k] = Σ_j θ_j·P[j, k]
    const withZero = tf.concat([tf.reshape(phi, [-1]), tf.zeros([1])]);
    const w = tf.mul(tf.gather(withZero, tables.index), tables.sign);
    return tf.reshape(w, [basis.cout, basis.cin, basis.rows]) as tf.Tensor3D;
  });
}
