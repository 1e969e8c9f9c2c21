/** GMRConv1D forward on webgpu (GMRConv_impl.ts: the 2D programs with height 1). */
import { GMR_CONV_1D, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvWebGPU } from './GMRConv_impl.js';

export const gmrConv1DConfig = gmrKernelConfig(GMR_CONV_1D, 'webgpu', gmrConvWebGPU);
