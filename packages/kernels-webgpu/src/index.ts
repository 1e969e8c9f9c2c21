/**
 * @gmr-conv/kernels-webgpu: importing this module registers WGSL kernels for backend 'webgpu' under core's
 * kernel names (GMRConv1D, GMRConv2D, GMRConv3D and their backward pieces), replacing core's composed default where
 * it was registered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConv1DConfig } from './kernels/GMRConv1D.js';
import { gmrConv2DConfig } from './kernels/GMRConv2D.js';
import { gmrConv3DConfig } from './kernels/GMRConv3D.js';
import { gmrConv1DBackpropInputConfig } from './kernels/GMRConv1DBackpropInput.js';
import { gmrConv2DBackpropInputConfig } from './kernels/GMRConv2DBackpropInput.js';
import { gmrConv3DBackpropInputConfig } from './kernels/GMRConv3DBackpropInput.js';
import { gmrConv1DBackpropFilterConfig } from './kernels/GMRConv1DBackpropFilter.js';
import { gmrConv2DBackpropFilterConfig } from './kernels/GMRConv2DBackpropFilter.js';
import { gmrConv3DBackpropFilterConfig } from './kernels/GMRConv3DBackpropFilter.js';

export { kernelCallCounts, resetKernelCallCounts, type KernelCallCounts } from './kernel_call_counts.js';
export {
  gmrConv1DConfig,
  gmrConv1DBackpropInputConfig,
  gmrConv1DBackpropFilterConfig,
  gmrConv2DConfig,
  gmrConv2DBackpropInputConfig,
  gmrConv2DBackpropFilterConfig,
  gmrConv3DConfig,
  gmrConv3DBackpropInputConfig,
  gmrConv3DBackpropFilterConfig,
};
export { unsupportedReason } from './kernels/GMRConv_impl.js';

/** The kernel configs this package registers (all for backend 'webgpu'). */
export const KERNEL_CONFIGS: readonly tf.KernelConfig[] = [
  gmrConv1DConfig,
  gmrConv1DBackpropInputConfig,
  gmrConv1DBackpropFilterConfig,
  gmrConv2DConfig,
  gmrConv2DBackpropInputConfig,
  gmrConv2DBackpropFilterConfig,
  gmrConv3DConfig,
  gmrConv3DBackpropInputConfig,
  gmrConv3DBackpropFilterConfig,
];

/** Registers (or re-registers) this package's kernels for 'webgpu', replacing whatever was registered. */
export function registerWebGPUKernels(): void {
  for (const config of KERNEL_CONFIGS) {
    if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}

/**
 * Removes this package's kernels from 'webgpu' (core then registers its composed default on the next call).
 * For comparisons such as the benchmark; registerWebGPUKernels() puts them back.
 */
export function unregisterWebGPUKernels(): void {
  for (const config of KERNEL_CONFIGS) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current && current.kernelFunc === config.kernelFunc) tf.unregisterKernel(config.kernelName, config.backendName);
  }
}

registerWebGPUKernels();
