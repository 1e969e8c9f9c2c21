/**
 * @gmr-conv/core's public API, listed name by name: the GMR ops and layers, ring geometry and Gaussian mixtures,
 * the equivariance toolkit, the steerable (harmonic) layers and the error type. What kernel packages need from
 * core's inside (kernel names, typed inputs and attrs, computeGMRConvInfo, Φ, the composed fallback) is the
 * `@gmr-conv/core/kernel` subpath; Node helpers are `@gmr-conv/core/node`. Anything not listed here is internal.
 */

// Errors: one style for every package (parameter, value, what is allowed).
export {
  GMRValueError,
  invalid,
  describeValue,
  checkPositiveInt,
  checkNonNegativeInt,
  toTuple,
} from './utils/errors.js';

// Cache keys for values derived from layer variables (stale exactly when a variable's data changes).
export { variableToken } from './utils/data_token.js';

// Rings, Gaussian mixtures, kernel synthesis.
export {
  ringMasks,
  defaultNumRings,
  MAX_MASK_ENTRIES,
  type RingOptions,
  type RingGeometry,
} from './rings/ring_masks.js';
export { ringsAreSymmetric } from './rings/symmetry.js';
export {
  initialSigma,
  initialLogSigmas,
  gaussianMatrix,
  smoothedBasis,
  REFERENCE_SQRT_2PI,
  DEFAULT_SIGMA_SCALE,
  type SigmaClip,
} from './mixture/gaussian_mixture.js';
export { synthesizeKernel, synthesizeKernelOI } from './kernel/synthesis.js';

// Ops.
export {
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  gmrConvTranspose2d,
  type GMRConvWeights,
  type GMRConvOptions,
} from './ops/gmr_conv_ops.js';
export type { ComputePath, DataFormat } from './ops/attrs.js';
export { PADDING_MODES, type PaddingMode, type PaddingSpec } from './ops/padding.js';
export { pathCost, TWO_STAGE_OVERHEAD, type PathCost } from './ops/path_choice.js';
export { registerConv2DBackpropFilter, registerFastTile, optimizeWasmBackend } from './ops/wasm_conv_backprop.js';
export { softmaxCrossEntropy } from './ops/softmax_cross_entropy.js';

// Layers.
export { GMRConvBase, clipModelIndexMats, type GMRConvLayerArgs } from './layers/gmr_conv_layer.js';
export { FusedBatchNormalization, type FusedBatchNormalizationArgs } from './layers/fused_batch_normalization.js';
export {
  GMRConv1D,
  GMRConv2D,
  GMRConv3D,
  GMRConv2DTranspose,
  gmrConv1dLayer,
  gmrConv2dLayer,
  gmrConv3dLayer,
  gmrConv2dTransposeLayer,
} from './layers/gmr_conv_layers.js';
export {
  GMRHarmonicConv2D,
  gmrHarmonicConv2dLayer,
  HARMONIC_OUTPUTS,
  type HarmonicOutput,
  type GMRHarmonicConvLayerArgs,
} from './layers/gmr_harmonic_conv.js';
export { GMRReferenceUniform, GMRKaimingNormal, type InitScheme } from './layers/initializers.js';
export { RingPooling2D, ringPooling2d, ringIndexOfPixels, type RingPoolingArgs } from './layers/ring_pooling.js';

// Equivariance toolkit.
export {
  symmetryMatrix,
  symmetryFromMatrix,
  composeSymmetries,
  invertSymmetry,
  sameSymmetry,
  symmetryDeterminant,
  spatialAxes,
  applySpatialSymmetry,
  type SpatialSymmetry,
} from './equivariance/signed_permutation.js';
export {
  D4_ELEMENTS,
  D4_ORACLE_NAMES,
  d4Symmetry,
  applyD4,
  invertD4,
  composeD4,
  isD4Rotation,
  type D4Element,
} from './equivariance/d4.js';
export {
  CUBE_SYMMETRIES,
  CUBE_ROTATIONS,
  cubeSymmetry,
  applyCubeSymmetry,
  invertCubeSymmetry,
  composeCubeSymmetries,
  type CubeSymmetry,
} from './equivariance/cube.js';
export { rotateBilinear, rotationPlan, sourceCoordinates, type RotationPlan } from './equivariance/rotate.js';
export {
  equivarianceError,
  equivarianceErrorAsync,
  equivarianceErrorFromValues,
  layerEquivarianceError,
  layerEquivarianceErrorAsync,
  modelInvarianceCheck,
  modelInvarianceCheckAsync,
  type EquivarianceError,
  type EquivarianceErrorOptions,
  type EquivarianceTransform,
  type LayerEquivarianceOptions,
  type ModelInvarianceOptions,
} from './equivariance/metrics.js';
export {
  checkExactEquivariance,
  type LayerSpec,
  type LayerLike,
  type ModelLike,
  type ExactnessOptions,
  type ExactnessReport,
} from './equivariance/exactness.js';

// Steerable (harmonic) fields and layers.
export {
  MAX_FIELD_ORDER,
  checkFields,
  fieldChannels,
  fieldLayout,
  fieldEntries,
  splitFields,
  concatFields,
  type Fields,
  type FieldLayout,
  type FieldEntry,
} from './steerable/fields.js';
export { D4_FIELD_ACTION, fieldTurn, applyD4ToFields, turnFields } from './steerable/field_symmetry.js';
export { steerableBasis, steerableDenseKernel, type SteerableBasis } from './steerable/steerable_basis.js';
export {
  GMRSteerableConv2D,
  gmrSteerableConv2d,
  STEERABLE_PATHS,
  type SteerablePath,
  type GMRSteerableConv2DArgs,
} from './steerable/steerable_conv.js';
export { steerablePathFor, type ResolvedSteerablePath } from './steerable/steerable_path.js';
export {
  FieldNonlinearity,
  gatedFields,
  FIELD_NONLINEARITY_MODES,
  type FieldNonlinearityMode,
  type FieldNonlinearityArgs,
} from './steerable/field_nonlinearity.js';
export { fieldGate, composedFieldGate } from './steerable/field_gate.js';
export { FieldBatchNorm, type FieldBatchNormArgs } from './steerable/field_batch_norm.js';
export { fieldBatchNormKernelHere, fusedFieldBatchNorm } from './steerable/field_batch_norm_op.js';
export {
  FieldInvariants,
  fieldInvariantChannels,
  FIELD_INVARIANT_PRODUCTS,
  type FieldInvariantProducts,
  type FieldInvariantsArgs,
} from './steerable/field_invariants.js';
