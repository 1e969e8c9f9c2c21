/** GMRConv3DBackpropInput on webgpu (GMRConvBackpropInput_impl.ts). */
import { GMR_CONV_3D_BACKPROP_INPUT, gmrKernelConfig } from '@gmr-conv/core/kernel';
import { gmrConvBackpropInputWebGPU } from './GMRConvBackpropInput_impl.js';

export const gmrConv3DBackpropInputConfig = gmrKernelConfig(
  GMR_CONV_3D_BACKPROP_INPUT,
  'webgpu',
  gmrConvBackpropInputWebGPU,
);
