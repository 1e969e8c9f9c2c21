/** GMRConv3D forward on webgpu (GMRConv_impl.ts: the 3D ring-sum program). */
import { GMR_CONV_3D, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvWebGPU } from './GMRConv_impl.js';

export const gmrConv3DConfig = gmrKernelConfig(GMR_CONV_3D, 'webgpu', gmrConvWebGPU);
