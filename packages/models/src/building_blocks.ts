/**
 * Small helpers shared by the model builders. Every layer gets the name of the
 * PyTorch module it stands for (`layer2.0.conv1.1`, `layer2.0.downsample.2`, …),
 * so weight import is a lookup by name (see weights/pytorch_import.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LeanConv2D } from './lean_conv2d.js';
import { FusedBatchNormalization, GMRConv2D, invalid, type GMRConvLayerArgs } from '@gmr-conv/core';

export type SymbolicTensor = tfl.SymbolicTensor;

/** GMR options a model builder passes through to every GMR conv it creates. */
export type GMROptions = Partial<
  Pick<
    GMRConvLayerArgs,
    | 'forceCircular'
    | 'gaussianMixtureRing'
    | 'trainGaussianSigma'
    | 'sigmaScale'
    | 'clipSigma'
    | 'sigmaMin'
    | 'sigmaMax'
    | 'trainIndexMat'
    | 'path'
    | 'twoStageBasis'
    | 'inferenceCache'
    | 'paddingMode'
  >
>;

/** PyTorch BatchNorm2d defaults: eps 1e-5, momentum 0.1 (tfjs momentum = 1 − 0.1 = 0.9). */
export const BN_EPSILON = 1e-5;
export const BN_MOMENTUM = 0.9;

export function apply(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Stride-1 GMR conv with PyTorch padding k//2 and θ ~ Kaiming normal (fan_out of the dense kernel), as GMR_ResNet inits. */
export function gmrConv(
  x: SymbolicTensor,
  name: string,
  filters: number,
  kernelSize: number,
  gmr: GMROptions,
  extra: Partial<GMRConvLayerArgs> = {},
): SymbolicTensor {
  return apply(
    new GMRConv2D({
      name,
      filters,
      kernelSize,
      strides: 1,
      padding: Math.floor(kernelSize / 2),
      useBias: false,
      initScheme: 'kaimingNormalFanOut',
      ...gmr,
      ...extra,
    }),
    x,
  );
}

export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(new FusedBatchNormalization({ name, axis: -1, epsilon: BN_EPSILON, momentum: BN_MOMENTUM }), x);
}

export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(tfl.layers.reLU({ name }), x);
}

export function avgPool(x: SymbolicTensor, size: number, name: string): SymbolicTensor {
  return apply(tfl.layers.averagePooling2d({ name, poolSize: size, strides: size, padding: 'valid' }), x);
}

/** Kaiming normal, fan_out mode, ReLU gain, untruncated (PyTorch's kaiming_normal_; tfjs's heNormal truncates and uses fan_in). */
// The return type is spelled out: inferred, it is written to the .d.ts as a deep import of tfjs-layers' dist that a
// published consumer cannot resolve.
export function kaimingNormalFanOut(
  filters: number,
  kernelArea: number,
): ReturnType<typeof tfl.initializers.randomNormal> {
  return tfl.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / (filters * kernelArea)) });
}

/** How plain 1×1 stride-1 convolutions are built. */
export type PointwiseAs = 'dense' | 'conv2d';

/**
 * A plain 1×1 stride-1 convolution without bias. As 'dense' (default) it is a
 * Dense layer on the channel axis: the same linear map, but its gradient is a
 * matMul, so it trains on wasm, which has no Conv2DBackpropFilter kernel.
 */
export function pointwise(x: SymbolicTensor, name: string, filters: number, as: PointwiseAs): SymbolicTensor {
  const kernelInitializer = kaimingNormalFanOut(filters, 1);
  if (as === 'conv2d') {
    return apply(
      new LeanConv2D({
        name,
        filters,
        kernelSize: 1,
        strides: 1,
        padding: 'valid',
        useBias: false,
        kernelInitializer,
      }),
      x,
    );
  }
  return apply(tfl.layers.dense({ name, units: filters, useBias: false, kernelInitializer }), x);
}

/** PyTorch nn.Linear default init: weight and bias ~ U(±1/√fanIn). */
export function linear(x: SymbolicTensor, name: string, units: number, fanIn: number): SymbolicTensor {
  const b = 1 / Math.sqrt(fanIn);
  return apply(
    tfl.layers.dense({
      name,
      units,
      kernelInitializer: tfl.initializers.randomUniform({ minval: -b, maxval: b }),
      biasInitializer: tfl.initializers.randomUniform({ minval: -b, maxval: b }),
    }),
    x,
  );
}

export function checkInt(where: string, param: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    invalid(where, param, v, `an integer ≥ ${min}`);
  }
  return v;
}

/** A per-stage list: one value for every stage, or exactly `n` values. */
export function perStage<T>(where: string, param: string, v: T | T[], n: number): T[] {
  if (!Array.isArray(v)) return Array.from({ length: n }, () => v);
  if (v.length === 1) return Array.from({ length: n }, () => v[0]);
  if (v.length !== n) invalid(where, param, v, `one value or ${n} values (one per stage)`);
  return v;
}
