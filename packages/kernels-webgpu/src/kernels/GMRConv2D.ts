/** GMRConv2D forward on webgpu (GMRConv_impl.ts). */
import { GMR_CONV_2D, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvWebGPU } from './GMRConv_impl.js';

export const gmrConv2DConfig = gmrKernelConfig(GMR_CONV_2D, 'webgpu', gmrConvWebGPU);
