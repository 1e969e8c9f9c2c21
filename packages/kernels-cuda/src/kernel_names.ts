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
