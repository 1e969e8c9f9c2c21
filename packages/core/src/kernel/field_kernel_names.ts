/**
 * The steerable layers' own kernels, named here beside the GMR ones so that a kernel package finds every name it may
 * register in one place. Core runs a composed form of each where no backend kernel is registered
 * (steerable/field_gate.ts, steerable/field_batch_norm_op.ts); the native backends register all four.
 *
 *   GMRFieldGate           inputs { x [..., n0 + 3K] }, attrs FieldGateAttrs → [..., n0 + 2K]: ReLU on the n0 order-0
 *                          maps, z·σ(s) on each of the K = n1 + n2 fields of order 1 and 2 (s its gate)
 *   GMRFieldGateGrad       inputs { x, dy }, attrs FieldGateAttrs → dx (x's shape)
 *   GMRFieldBatchNorm      inputs { x [..., C], gamma [F], beta [n0] (absent when n0 = 0) }, attrs FieldBatchNormAttrs
 *                          → y (x's shape), mean [C] (order-0 means, 0 on order m), stats [F] (per-field variance:
 *                          order 0 of its channel, order m E|z|²), invStd [C] = 1/√(variance of the channel's field + ε)
 *   GMRFieldBatchNormGrad  inputs { x, dy, mean, invStd, gamma }, same attrs → dx, dgamma [F], dbeta [n0] (when n0 > 0)
 */
import type { Fields } from '../steerable/fields.js';

export const FIELD_GATE = 'GMRFieldGate';
export const FIELD_GATE_GRAD = 'GMRFieldGateGrad';
export const FIELD_BATCH_NORM = 'GMRFieldBatchNorm';
export const FIELD_BATCH_NORM_GRAD = 'GMRFieldBatchNormGrad';

/** The gate's output fields [n0, n1, n2] (its input carries n1 + n2 gates more). */
export interface FieldGateAttrs {
  fields: Fields;
}

/** The fields [n0, n1, n2] being normalised and the ε added to each field's variance. */
export interface FieldBatchNormAttrs {
  fields: Fields;
  epsilon: number;
}
