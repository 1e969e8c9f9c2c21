/**
 * Every kernel that runs natively on 'native' and 'cuda', one file each in kernels/<KernelName>.ts (as
 * tfjs-backend-cpu lays them out); shared helpers live in kernels/*_impl.ts and kernels/native_util.ts.
 * index.ts registers each config for both backends over the cpu backend's kernels (the fallback).
 * To add a kernel: write kernels/<KernelName>.ts exporting `<kernelName>Config` (nativeKernel(<KernelName>, f), the
 * name a constant: tfjs-core's, this package's kernel_names.ts, or core's for GMR kernels), and append it to this
 * list; test/kernel_files.test.ts checks that the file name, the registered name and this list agree.
 */
import type { NativeKernelConfig } from './kernels/native_util.js';
import { gmrConv2DConfig } from './kernels/GMRConv2D.js';
import { gmrConv2DBackpropInputConfig } from './kernels/GMRConv2DBackpropInput.js';
import { gmrConv2DBackpropFilterConfig } from './kernels/GMRConv2DBackpropFilter.js';
import { addConfig } from './kernels/Add.js';
import { addNConfig } from './kernels/AddN.js';
import { avgPoolConfig } from './kernels/AvgPool.js';
import { avgPoolGradConfig } from './kernels/AvgPoolGrad.js';
import { batchMatMulConfig } from './kernels/BatchMatMul.js';
import { concatConfig } from './kernels/Concat.js';
import { conv2DConfig } from './kernels/Conv2D.js';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput.js';
import { depthwiseConv2dNativeConfig } from './kernels/DepthwiseConv2dNative.js';
import { fusedBatchNormConfig } from './kernels/FusedBatchNorm.js';
import { fusedConv2DConfig } from './kernels/FusedConv2D.js';
import { fusedMatMulConfig } from './kernels/_FusedMatMul.js';
import { gatherV2Config } from './kernels/GatherV2.js';
import { meanConfig } from './kernels/Mean.js';
import { multiplyConfig } from './kernels/Multiply.js';
import { nativeBatchNormGradConfig } from './kernels/NativeBatchNormGrad.js';
import { nativeReluGradConfig } from './kernels/NativeReluGrad.js';
import { softmaxCrossEntropyConfig } from './kernels/GMRSoftmaxCrossEntropy.js';
import { softmaxCrossEntropyGradConfig } from './kernels/GMRSoftmaxCrossEntropyGrad.js';
import { padV2Config } from './kernels/PadV2.js';
import { realDivConfig } from './kernels/RealDiv.js';
import { reluConfig } from './kernels/Relu.js';
import { sigmoidConfig } from './kernels/Sigmoid.js';
import { sliceConfig } from './kernels/Slice.js';
import { splitVConfig } from './kernels/SplitV.js';
import { sqrtConfig } from './kernels/Sqrt.js';
import { squareConfig } from './kernels/Square.js';
import { squaredDifferenceConfig } from './kernels/SquaredDifference.js';
import { stepConfig } from './kernels/Step.js';
import { subConfig } from './kernels/Sub.js';
import { sumConfig } from './kernels/Sum.js';
import { tileConfig } from './kernels/Tile.js';
import { transposeConfig } from './kernels/Transpose.js';
import { nativeOptimizerUpdateConfig } from './kernels/NativeOptimizerUpdate.js';
import { fieldGateConfig } from './kernels/GMRFieldGate.js';
import { fieldGateGradConfig } from './kernels/GMRFieldGateGrad.js';
import { fieldBatchNormConfig } from './kernels/GMRFieldBatchNorm.js';
import { fieldBatchNormGradConfig } from './kernels/GMRFieldBatchNormGrad.js';
import { fieldInvariantsConfig } from './kernels/GMRFieldInvariants.js';
import { fieldInvariantsGradConfig } from './kernels/GMRFieldInvariantsGrad.js';
import { gmrMixingWeightsConfig } from './kernels/GMRMixingWeights.js';
import { gmrMixingWeightsGradConfig } from './kernels/GMRMixingWeightsGrad.js';
import { steerableMixingWeightsConfig } from './kernels/GMRSteerableMixingWeights.js';
import { steerableMixingWeightsGradConfig } from './kernels/GMRSteerableMixingWeightsGrad.js';
import { steerableConvConfig } from './kernels/GMRSteerableConv.js';
import { steerableConvBackpropInputConfig } from './kernels/GMRSteerableConvBackpropInput.js';
import { steerableConvBackpropFilterConfig } from './kernels/GMRSteerableConvBackpropFilter.js';

export const nativeKernelConfigs: readonly NativeKernelConfig[] = [
  gmrConv2DConfig,
  gmrConv2DBackpropInputConfig,
  gmrConv2DBackpropFilterConfig,
  addConfig,
  addNConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  batchMatMulConfig,
  concatConfig,
  conv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  fusedBatchNormConfig,
  fusedConv2DConfig,
  fusedMatMulConfig,
  gatherV2Config,
  meanConfig,
  multiplyConfig,
  nativeBatchNormGradConfig,
  nativeReluGradConfig,
  padV2Config,
  realDivConfig,
  reluConfig,
  sigmoidConfig,
  sliceConfig,
  splitVConfig,
  sqrtConfig,
  squareConfig,
  squaredDifferenceConfig,
  stepConfig,
  subConfig,
  sumConfig,
  tileConfig,
  transposeConfig,
  nativeOptimizerUpdateConfig,
  fieldGateConfig,
  fieldGateGradConfig,
  fieldBatchNormConfig,
  fieldBatchNormGradConfig,
  fieldInvariantsConfig,
  fieldInvariantsGradConfig,
  gmrMixingWeightsConfig,
  gmrMixingWeightsGradConfig,
  steerableMixingWeightsConfig,
  steerableMixingWeightsGradConfig,
  steerableConvConfig,
  steerableConvBackpropInputConfig,
  steerableConvBackpropFilterConfig,
  softmaxCrossEntropyConfig,
  softmaxCrossEntropyGradConfig,
  depthwiseConv2dNativeConfig,
];
