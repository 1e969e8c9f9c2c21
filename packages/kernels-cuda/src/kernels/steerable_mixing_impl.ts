/**
 * What GMRSteerableMixingWeights and its gradient share: the input checks, Φ = θ·P (P from gaussianMixing, the
 * product in the addon's sgemm; Φ = θ without log σ) and the placement of Φ into the op's weights W [Cout, Cin, rows]
 * and back. Each (output channel, input channel) pair links through one angular component with one sign
 * (core's field_kernel_names.ts), so W's pair (o, i) is sign·Φ[field(o), field(i), ring(row)] on the rows of that
 * component and 0 on the others: one pass over W, in JS, since W holds a few thousand numbers.
 */
import { invalid } from '@gmr-conv/core';
import type { SteerableMixingAttrs } from '@gmr-conv/core/kernel';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../backend.js';
import { gaussianMixing, type GaussianMixing } from './mixing_weights_impl.js';
import { allF32, size } from './native_util.js';

export interface SteerableMixingShape {
  nOut: number;
  nIn: number;
  /** Rings (θ's last axis). */
  n: number;
}

/** Checks θ [outFields, inFields, n], log σ [n] (or none) and dW [Cout, Cin, rows] against the attrs. */
export function checkSteerableMixing(
  name: string,
  weight: TensorInfo | undefined,
  logSigmas: TensorInfo | undefined,
  dW: TensorInfo | undefined | null,
  a: SteerableMixingAttrs,
): SteerableMixingShape {
  const [nOut, nIn, n] = weight?.shape ?? [];
  const fieldsOk =
    nOut != null &&
    nIn != null &&
    a.outFieldOfChannel.every((f) => f < nOut) &&
    a.inFieldOfChannel.every((f) => f < nIn) &&
    a.rowRing.every((r) => r < n!);
  if (
    !weight ||
    weight.shape.length !== 3 ||
    !fieldsOk ||
    !allF32(weight, logSigmas, dW) ||
    (logSigmas && size(logSigmas.shape) !== n) ||
    (dW !== null && (!dW || size(dW.shape) !== a.cout * a.cin * a.rows))
  ) {
    const got = `weight [${weight?.shape}], logSigmas [${logSigmas?.shape ?? 'none'}]${dW === null ? '' : `, dW [${dW?.shape}]`}`;
    invalid(
      name,
      'inputs',
      got,
      `float32 weight [outFields, inFields, n] covering the attrs' fields and rings, logSigmas [n] or none` +
        (dW === null ? '' : `, dW [${a.cout}, ${a.cin}, ${a.rows}]`),
    );
  }
  return { nOut: nOut!, nIn: nIn!, n: n! };
}

/** Φ [nOut·nIn, n] = θ·P with P's details, or θ itself (P null) without log σ. */
export function phiOf(
  backend: NativeBackend,
  weight: TensorInfo,
  logSigmas: TensorInfo | undefined,
  s: SteerableMixingShape,
  a: SteerableMixingAttrs,
): { phi: Float32Array; mixing: GaussianMixing | null } {
  const theta = backend.f32(weight);
  if (!logSigmas) return { phi: theta, mixing: null };
  const mixing = gaussianMixing(backend.f32(logSigmas), a);
  const rows = s.nOut * s.nIn;
  const phi = new Float32Array(rows * s.n);
  backend.addon.sgemm(false, false, rows, s.n, s.n, 1, theta, 0, s.n, mixing.p, 0, s.n, 0, phi, 0, s.n);
  return { phi, mixing };
}

/**
 * Every placed entry of a layout, as flat arrays: entry e puts sign[e]·Φ[phi[e]] at W[w[e]] (w indexes W [Cout, Cin,
 * rows] at pair (o, i) on a row of the pair's component; phi the Φ [nOut·nIn, n] entry sign·Φ[field(o), field(i),
 * ring(row)] holds). Built once per layout: a layer passes the same placement arrays on every call (the attrs object
 * around them is new each time), so they key the cache; walking the pairs, components and rows with a callback per
 * entry was most of these kernels' time (0.3 ms a call on the steerable CNN's 40 → 112 layer).
 */
interface LinkTable {
  w: Int32Array;
  phi: Int32Array;
  sign: Float32Array;
}
const linkTables = new WeakMap<number[], Map<string, LinkTable>>();

function linkTable(s: SteerableMixingShape, a: SteerableMixingAttrs): LinkTable {
  let byShape = linkTables.get(a.linkComponent);
  if (!byShape) linkTables.set(a.linkComponent, (byShape = new Map()));
  const key = `${s.nOut},${s.nIn},${s.n},${a.cout},${a.cin},${a.rows}`;
  const known = byShape.get(key);
  if (known) return known;
  const { cout, cin, rows } = a;
  const byComponent: number[][] = [[], [], [], [], []]; // the rows of each angular component 0…4 (steerable_basis.ts)
  a.rowComponent.forEach((c, row) => byComponent[c]!.push(row));
  const w: number[] = [];
  const phi: number[] = [];
  const sign: number[] = [];
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++) {
      const p = o * cin + i;
      const c = a.linkComponent[p]!;
      if (c < 0) continue;
      const base = (a.outFieldOfChannel[o]! * s.nIn + a.inFieldOfChannel[i]!) * s.n;
      for (const row of byComponent[c]!) {
        w.push(p * rows + row);
        phi.push(base + a.rowRing[row]!);
        sign.push(a.linkSign[p]!);
      }
    }
  const t = { w: Int32Array.from(w), phi: Int32Array.from(phi), sign: Float32Array.from(sign) };
  byShape.set(key, t);
  return t;
}

/** W[o, i, row] = sign·Φ[field(o), field(i), ring(row)] on the rows of the pair's component, 0 elsewhere. */
export function placeMixing(phi: Float32Array, out: Float32Array, s: SteerableMixingShape, a: SteerableMixingAttrs) {
  out.fill(0); // a reused buffer: the rows of other components stay 0
  const t = linkTable(s, a);
  for (let e = 0; e < t.w.length; e++) out[t.w[e]!] = t.sign[e]! * phi[t.phi[e]!]!;
}

/** dΦ [nOut·nIn, n]: the sum of sign·dW over the pairs and rows that each Φ entry was placed in. */
export function gatherMixing(dW: Float32Array, s: SteerableMixingShape, a: SteerableMixingAttrs): Float32Array {
  const dPhi = new Float32Array(s.nOut * s.nIn * s.n);
  const t = linkTable(s, a);
  for (let e = 0; e < t.w.length; e++) dPhi[t.phi[e]!]! += t.sign[e]! * dW[t.w[e]!]!;
  return dPhi;
}
