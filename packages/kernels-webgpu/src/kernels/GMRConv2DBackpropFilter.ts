/** GMRConv2DBackpropFilter on webgpu (GMRConvBackpropFilter_impl.ts). */
import { GMR_CONV_2D_BACKPROP_FILTER, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvBackpropFilterWebGPU } from './GMRConvBackpropFilter_impl.js';

export const gmrConv2DBackpropFilterConfig = gmrKernelConfig(
  GMR_CONV_2D_BACKPROP_FILTER,
  'webgpu',
  gmrConvBackpropFilterWebGPU,
);
