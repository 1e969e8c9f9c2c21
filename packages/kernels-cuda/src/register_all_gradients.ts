/**
 * The tfjs gradients replaced on 'native' (and 'cuda'), one file each in gradients/<KernelName>_grad.ts.
 * To add one: write gradients/<KernelName>_grad.ts exporting a NativeGradConfig, and append it here.
 */
import { fusedBatchNormGradConfig } from './gradients/FusedBatchNorm_grad.js';
import { overrideGradient, type NativeGradConfig } from './gradients/gradient_impl.js';
import { meanGradConfig } from './gradients/Mean_grad.js';
import { reluGradConfig } from './gradients/Relu_grad.js';

export const nativeGradConfigs: readonly NativeGradConfig[] = [
  fusedBatchNormGradConfig,
  meanGradConfig,
  reluGradConfig,
];

/** Registers the gradients (once; safe to call again). */
export function registerNativeGradients(): void {
  for (const c of nativeGradConfigs) overrideGradient(c);
}

// At import, with the kernels (index.ts imports this module before registering the backends).
registerNativeGradients();
