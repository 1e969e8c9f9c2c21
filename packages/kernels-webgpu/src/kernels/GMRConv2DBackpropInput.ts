/** GMRConv2DBackpropInput on webgpu (GMRConvBackpropInput_impl.ts). */
import { GMR_CONV_2D_BACKPROP_INPUT, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvBackpropInputWebGPU } from './GMRConvBackpropInput_impl.js';

export const gmrConv2DBackpropInputConfig = gmrKernelConfig(
  GMR_CONV_2D_BACKPROP_INPUT,
  'webgpu',
  gmrConvBackpropInputWebGPU,
);
