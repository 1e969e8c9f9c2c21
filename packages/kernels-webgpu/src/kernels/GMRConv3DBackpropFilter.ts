/** GMRConv3DBackpropFilter on webgpu (GMRConvBackpropFilter_impl.ts). */
import { GMR_CONV_3D_BACKPROP_FILTER, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvBackpropFilterWebGPU } from './GMRConvBackpropFilter_impl.js';

export const gmrConv3DBackpropFilterConfig = gmrKernelConfig(
  GMR_CONV_3D_BACKPROP_FILTER,
  'webgpu',
  gmrConvBackpropFilterWebGPU,
);
