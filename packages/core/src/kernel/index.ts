/**
 * @gmr-conv/core/kernel: the seam between core's GMR ops and the kernel packages (kernels-webgpu, kernels-cuda).
 * A kernel package imports from here and from core's public index only:
 *  - kernel names (forward and backward) and the typed inputs / attrs of each (kernel_names.ts);
 *  - computeGMRConvInfo, the one geometry of every dimension and padding mode, with the padding-mode codes that
 *    compiled kernels switch on (conv_info.ts);
 *  - the mixing weights Φ = θ·P that the binary-ring kernels mix with (mixing_weights.ts);
 *  - core's composed implementation, the fallback for calls a kernel does not cover (composed/);
 *  - the registry that tells whether a backend runs its own kernel or the composed one (kernel_registry.ts);
 *  - the tfjs engine internals that kernels need (engine_internals.ts);
 *  - the steerable layers' kernel names and attrs (field_kernel_names.ts) and the steerable conv's path choice;
 *  - the training loss's kernel names (loss_kernel_names.ts).
 */
export {
  GMR_CONV_1D,
  GMR_CONV_2D,
  GMR_CONV_3D,
  GMR_CONV_2D_TRANSPOSE,
  GMR_CONV_1D_BACKPROP_INPUT,
  GMR_CONV_2D_BACKPROP_INPUT,
  GMR_CONV_3D_BACKPROP_INPUT,
  GMR_CONV_1D_BACKPROP_FILTER,
  GMR_CONV_2D_BACKPROP_FILTER,
  GMR_CONV_3D_BACKPROP_FILTER,
  GMR_KERNEL_NAMES,
  GMR_BACKPROP_KERNEL_NAMES,
  GMR_ACTIVATIONS,
  gmrKernelConfig,
  forwardTensors,
} from './kernel_names.js';
export type {
  GMRForwardKernelName,
  GMRKernelName,
  GMRKernelInputMap,
  GMRKernelArgs,
  GMRConvInputs,
  GMRConv1DInputs,
  GMRConv2DInputs,
  GMRConv3DInputs,
  GMRConv2DTransposeInputs,
  GMRConvBackpropInputInputs,
  GMRConv1DBackpropInputInputs,
  GMRConv2DBackpropInputInputs,
  GMRConv3DBackpropInputInputs,
  GMRConvBackpropFilterInputs,
  GMRConv1DBackpropFilterInputs,
  GMRConv2DBackpropFilterInputs,
  GMRConv3DBackpropFilterInputs,
  GMRConvAttrs,
  GMRActivation,
  GMRConv1DAttrs,
  GMRConv2DAttrs,
  GMRConv3DAttrs,
  GMRConv2DTransposeAttrs,
  GMRConvTensors,
} from './kernel_names.js';
export {
  computeGMRConvInfo,
  gmrConvAxis,
  convOutLength,
  samePads,
  spatialOf,
  channelsOf,
  PADDING_MODES,
  PADDING_MODE_CODES,
} from './conv_info.js';
export type { GMRConvInfo, GMRConvAxis, GMRConvGeometryArgs, PaddingMode, PaddingSpec, PadPairs } from './conv_info.js';
export {
  mixingWeights,
  mixingWeightsAttrs,
  GMR_MIXING_WEIGHTS,
  GMR_MIXING_WEIGHTS_GRAD,
  type MixingWeightsAttrs,
} from './mixing_weights.js';
export { gmrConvComposed } from './composed/gmr_conv_composed.js';
export { registerComposedKernel, usesComposedKernel } from './kernel_registry.js';
export { recordingGradients } from './engine_internals.js';
export {
  FIELD_GATE,
  FIELD_GATE_GRAD,
  FIELD_BATCH_NORM,
  FIELD_BATCH_NORM_GRAD,
  STEERABLE_MIXING_WEIGHTS,
  STEERABLE_MIXING_WEIGHTS_GRAD,
  STEERABLE_CONV,
  STEERABLE_CONV_BACKPROP_INPUT,
  STEERABLE_CONV_BACKPROP_FILTER,
} from './field_kernel_names.js';
export type {
  FieldGateAttrs,
  FieldBatchNormAttrs,
  SteerableMixingAttrs,
  SteerableConvAttrs,
} from './field_kernel_names.js';
export { FIELD_INVARIANTS, FIELD_INVARIANTS_GRAD, type FieldInvariantsAttrs } from './field_kernel_names.js';
export { setSteerablePath } from '../steerable/steerable_path.js';
export { SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD } from './loss_kernel_names.js';
