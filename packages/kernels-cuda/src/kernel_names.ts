/**
 * Names of the kernels this package adds to tfjs's (the addon's own; tfjs's kernels are named by tfjs-core's
 * constants, `import { Add } from '@tensorflow/tfjs-core'`). Exported, so that a kernel is found by searching for
 * its name and test/kernel_files.test.ts can check every registered name against tfjs-core's and these.
 */
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';

/** The gradients of FusedBatchNorm in one kernel: dx, dmean, dvariance, dscale, doffset (scale absent = 1). */
export const NativeBatchNormGrad = 'NativeBatchNormGrad';
export type NativeBatchNormGradInputs = Pick<NamedTensorInfoMap, 'x' | 'dy' | 'mean' | 'variance' | 'scale'>;
export interface NativeBatchNormGradAttrs {
  varianceEpsilon: number;
}

/** ReLU's gradient dy · step(x) in one pass (tfjs runs Step, then Multiply). */
export const NativeReluGrad = 'NativeReluGrad';
export type NativeReluGradInputs = Pick<NamedTensorInfoMap, 'dy' | 'x'>;

/**
 * One optimiser step over every variable in one call (SGD / Nesterov, Adam, AdamW, weight-decay mask, global-norm
 * clipping): inputs per variable (w, g, state…), outputs per variable (w, state…) and the gradient norm last.
 */
export const NativeOptimizerUpdate = 'NativeOptimizerUpdate';
export interface NativeOptimizerUpdateAttrs {
  optimizer: 'sgd' | 'adam' | 'adamw';
  /** Learning rate of this step. */
  lr: number;
  /** SGD only (0: plain SGD, no state). */
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count t of Adam's bias corrections 1 − βᵗ. */
  step: number;
  /** Global-norm clipping threshold (0: off). */
  clipNorm: number;
  /** Per variable: whether weight decay applies (the CLI never decays the GMR sigmas). */
  decay: boolean[];
}
