/**
 * The steerable layers' own kernels, named here beside the GMR ones so that a kernel package finds every name it may
 * register in one place. Core runs a composed form of each where no backend kernel is registered
 * (steerable/field_gate.ts, steerable/field_batch_norm_op.ts, steerable/steerable_basis.ts); the native backends
 * register all of them.
 *
 *   GMRFieldGate           inputs { x [..., n0 + 3K] }, attrs FieldGateAttrs → [..., n0 + 2K]: ReLU on the n0 order-0
 *                          maps, z·σ(s) on each of the K = n1 + n2 fields of order 1 and 2 (s its gate)
 *   GMRFieldGateGrad       inputs { x, dy }, attrs FieldGateAttrs → dx (x's shape)
 *   GMRFieldBatchNorm      inputs { x [..., C], gamma [F], beta [n0] (absent when n0 = 0) }, attrs FieldBatchNormAttrs
 *                          → y (x's shape), mean [C] (order-0 means, 0 on order m), stats [F] (per-field variance:
 *                          order 0 of its channel, order m E|z|²), invStd [C] = 1/√(variance of the channel's field + ε);
 *                          with activation 'relu' (order-0 fields only) y is relu of that
 *   GMRFieldBatchNormGrad  inputs { x, dy, mean, invStd, gamma, beta (with activation 'relu') }, same attrs → dx,
 *                          dgamma [F], dbeta [n0] (when n0 > 0); with 'relu', of the normalisation and the ReLU
 *   GMRSteerableMixingWeights      inputs { weight θ [outFields, inFields, n], logSigmas [n] (absent for binary
 *                                  rings) }, attrs SteerableMixingAttrs → the op's weights W [Cout, Cin, rows]:
 *                                  W[o, i, row] = sign(o, i)·Φ[field(o), field(i), ring(row)] where row's component
 *                                  is the one the pair (o, i) links with, else 0; Φ = θ·P(σ) (Φ = θ without logSigmas)
 *   GMRSteerableMixingWeightsGrad  inputs { weight, logSigmas (as above), dW [Cout, Cin, rows] }, same attrs →
 *                                  [dθ, d(log σ) [n] (only with logSigmas)]: dΦ gathers sign·dW back to the field
 *                                  pairs and rings, then dθ = dΦ·Pᵀ and d(log σ) as GMRMixingWeightsGrad (0 where σ
 *                                  was clipped)
 *   GMRSteerableConv                inputs { x [B, H, W, Cin], weight W [Cout, Cin, rows], indexMat masks [rows, k·k] },
 *                                   attrs SteerableConvAttrs → y [B, Ho, Wo, Cout]: the GMR convolution of x with W over
 *                                   the angle-weighted masks (what gmrConv2d computes with logSigmas null, no bias),
 *                                   where W is zero outside the plan's blocks (the kernel reads only those)
 *   GMRSteerableConvBackpropInput   inputs { dy, weight, indexMat }, same attrs → dx [B, H, W, Cin]
 *   GMRSteerableConvBackpropFilter  inputs { x, dy, indexMat }, same attrs → dW [Cout, Cin, rows], zero outside the
 *                                   plan's blocks
 * Core runs gmrConv2d with the whole W where the three are not registered (steerable/steerable_conv.ts).
 *   GMRFieldInvariants      inputs { x [..., C] }, attrs FieldInvariantsAttrs → y [..., Cout], Cout =
 *                           fieldInvariantChannels(fields, products): the order-0 maps, |z|² of every order-m field,
 *                           and with products 'paired' Re(z_i·conj z_{i+1}) per order and Re(z2_i·conj(z1_i)²), in that
 *                           order, each value as the composed form rounds it
 *   GMRFieldInvariantsGrad  inputs { x, dy [..., Cout] }, same attrs → dx (x's shape)
 * Core runs the composed form (steerable/field_invariants.ts) where the two are not registered.
 */
import type { Fields } from '../steerable/fields.js';

export const FIELD_GATE = 'GMRFieldGate';
export const FIELD_GATE_GRAD = 'GMRFieldGateGrad';
export const FIELD_BATCH_NORM = 'GMRFieldBatchNorm';
export const FIELD_BATCH_NORM_GRAD = 'GMRFieldBatchNormGrad';
export const STEERABLE_MIXING_WEIGHTS = 'GMRSteerableMixingWeights';
export const STEERABLE_MIXING_WEIGHTS_GRAD = 'GMRSteerableMixingWeightsGrad';
export const STEERABLE_CONV = 'GMRSteerableConv';
export const STEERABLE_CONV_BACKPROP_INPUT = 'GMRSteerableConvBackpropInput';
export const STEERABLE_CONV_BACKPROP_FILTER = 'GMRSteerableConvBackpropFilter';
export const FIELD_INVARIANTS = 'GMRFieldInvariants';
export const FIELD_INVARIANTS_GRAD = 'GMRFieldInvariantsGrad';

/** The gate's output fields [n0, n1, n2] (its input carries n1 + n2 gates more). */
export interface FieldGateAttrs {
  fields: Fields;
}

/** FieldInvariants' input fields [n0, n1, n2] and its products ('none' or 'paired'). */
export interface FieldInvariantsAttrs {
  fields: Fields;
  products: 'none' | 'paired';
}

/**
 * The fields [n0, n1, n2] being normalised and the ε added to each field's variance; `activation` 'relu' applies a ReLU
 * to the output in the same pass (order-0 fields only, n1 = n2 = 0: a plain batch norm and the ReLU after it); default
 * 'linear'.
 */
export interface FieldBatchNormAttrs {
  fields: Fields;
  epsilon: number;
  activation?: 'linear' | 'relu';
}

/**
 * Where the steerable mixing weights place Φ (steerable_basis.ts), as plain arrays, and P's σ clipping (gaussianMatrix's
 * defaults filled in; unused without logSigmas). Every (output channel o, input channel i) pair links through at most
 * one angular component: `linkComponent[o·Cin + i]` (−1 where the pair has no link) with sign `linkSign[o·Cin + i]`.
 */
export interface SteerableMixingAttrs {
  cout: number;
  cin: number;
  rows: number;
  /** The field of each output channel [Cout] and of each input channel [Cin]. */
  outFieldOfChannel: number[];
  inFieldOfChannel: number[];
  /** The ring and the angular component of each mask row [rows]. */
  rowRing: number[];
  rowComponent: number[];
  linkComponent: number[];
  linkSign: number[];
  clipSigma: boolean;
  sigmaMin: number;
  sigmaMax: number;
}

/**
 * The steerable convolution's geometry and the blocks of W it reads (steerable_basis.ts steerableBlockPlan): channelsLast,
 * odd square kernel, dilation 1, zero padding. `plan` is [numBlocks, then per output block: o0, o1, numSegments, then
 * per segment: i0, i1, r0, r1]: output channels [o0, o1) read input channels [i0, i1) through mask rows [r0, r1) (the
 * rows of the one component their pairs link with); the output blocks partition [0, cout) in order.
 */
export interface SteerableConvAttrs {
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  cout: number;
  plan: number[];
  /** x's shape (BackpropInput's output). */
  inputShape: [number, number, number, number];
}
