/**
 * GMR-ResNet-18/34/50 exactly as the reference builds them
 * (`src/GMR_Conv/gmr_resnet.py`), and the plain ResNet-18 baseline, as
 * tfjs-layers functional models (channels-last).
 *
 * GMR-ResNet: stem GMR 5×5 stride 1 pad 2 (no bias) → BN → ReLU → AvgPool 2
 * (`first_avgpool`); stages of planes inplanes·(1,2,4,8), per-stage GMR kernel
 * sizes (default [9,9,5,5], padding k//2); a block with stride s is
 * AvgPool(s) → stride-1 GMR conv; shortcuts AvgPool(s) → plain 1×1 (no bias) → BN;
 * head global average pool → dense. BN eps 1e-5, momentum 0.1 (tfjs 0.9).
 * Every layer is named after its PyTorch module so `loadPyTorchStateDict` maps weights by name.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LeanConv2D } from './lean_conv2d.js';
import {
  apply,
  avgPool,
  batchNorm,
  checkInt,
  gmrConv,
  kaimingNormalFanOut,
  linear,
  perStage,
  pointwise,
  relu,
  type GMROptions,
  type PointwiseAs,
  type SymbolicTensor,
} from './building_blocks.js';
import { FusedBatchNormalization, invalid } from '@gmr-conv/core';

export type BlockKind = 'basic' | 'bottleneck';

export interface GMRResNetOptions {
  /** Output classes (default 1000, as the reference). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Base width; stages have inplanes·(1, 2, 4, 8) planes (default 64). */
  inplanes?: number;
  /** GMR kernel size per stage, one value or four (default [9, 9, 5, 5]; the reference's own default is 3). */
  gmrConvSize?: number | number[];
  /** Rings per stage (default: automatic, k//2 + 1). */
  numRings?: number | null | (number | null)[];
  /** Stride per stage (default [1, 2, 2, 2]); every stride is an AvgPool before a stride-1 GMR conv. */
  layerStride?: number | number[];
  /** Drop the stem's 2×2 average pool (reference `skip_first_maxpool`). */
  skipFirstPool?: boolean;
  /** Zero-init the last BN γ of every residual branch (default false, as the reference). */
  zeroInitResidual?: boolean;
  /** Input spatial size [H, W]; default [null, null] (any size). */
  inputSize?: [number | null, number | null];
  /** Plain 1×1 convs as 'dense' (default; trains on wasm) or 'conv2d'. Same weights either way. */
  pointwiseAs?: PointwiseAs;
  /** Options for every GMR conv (forceCircular, gaussianMixtureRing, path, …). */
  gmr?: GMROptions;
  /** Model name (default gmr_resnet18 / 34 / 50). */
  name?: string;
}

interface ResolvedOptions {
  numClasses: number;
  inChannels: number;
  inplanes: number;
  sizes: number[];
  rings: (number | null)[];
  strides: number[];
  skipFirstPool: boolean;
  zeroInitResidual: boolean;
  inputSize: [number | null, number | null];
  pointwiseAs: PointwiseAs;
  gmr: GMROptions;
}

function resolve(where: string, o: GMRResNetOptions): ResolvedOptions {
  const sizes = perStage(where, 'gmrConvSize', o.gmrConvSize ?? [9, 9, 5, 5], 4).map((k, i) =>
    checkInt(where, `gmrConvSize[${i}]`, k),
  );
  const rings = perStage<number | null>(where, 'numRings', o.numRings ?? null, 4);
  const strides = perStage(where, 'layerStride', o.layerStride ?? [1, 2, 2, 2], 4).map((s, i) =>
    checkInt(where, `layerStride[${i}]`, s),
  );
  const pointwiseAs = o.pointwiseAs ?? 'dense';
  if (pointwiseAs !== 'dense' && pointwiseAs !== 'conv2d')
    invalid(where, 'pointwiseAs', pointwiseAs, "'dense' or 'conv2d'");
  return {
    numClasses: checkInt(where, 'numClasses', o.numClasses ?? 1000),
    inChannels: checkInt(where, 'inChannels', o.inChannels ?? 3),
    inplanes: checkInt(where, 'inplanes', o.inplanes ?? 64),
    sizes,
    rings,
    strides,
    skipFirstPool: o.skipFirstPool ?? false,
    zeroInitResidual: o.zeroInitResidual ?? false,
    inputSize: o.inputSize ?? [null, null],
    pointwiseAs,
    gmr: o.gmr ?? {},
  };
}

function bnZeroGamma(x: SymbolicTensor, name: string, zero: boolean): SymbolicTensor {
  if (!zero) return batchNorm(x, name);
  return apply(
    new FusedBatchNormalization({ name, axis: -1, epsilon: 1e-5, momentum: 0.9, gammaInitializer: 'zeros' }),
    x,
  );
}

/** GMRBasicBlock / GMRBottleneck, named `${p}.conv1`, `${p}.bn1`, …, `${p}.downsample.{1,2}`. */
function gmrBlock(
  kind: BlockKind,
  x: SymbolicTensor,
  p: string,
  inplanes: number,
  planes: number,
  stride: number,
  k: number,
  numRings: number | null,
  o: ResolvedOptions,
): SymbolicTensor {
  const expansion = kind === 'basic' ? 1 : 4;
  const extra = numRings != null ? { numRings } : {};
  const stridedGmr = (t: SymbolicTensor, name: string, filters: number) => {
    if (stride === 1) return gmrConv(t, name, filters, k, o.gmr, extra);
    return gmrConv(avgPool(t, stride, `${name}.0`), `${name}.1`, filters, k, o.gmr, extra);
  };
  let out: SymbolicTensor;
  if (kind === 'basic') {
    out = relu(batchNorm(stridedGmr(x, `${p}.conv1`, planes), `${p}.bn1`), `${p}.relu1`);
    out = bnZeroGamma(gmrConv(out, `${p}.conv2`, planes, k, o.gmr, extra), `${p}.bn2`, o.zeroInitResidual);
  } else {
    out = relu(batchNorm(pointwise(x, `${p}.conv1`, planes, o.pointwiseAs), `${p}.bn1`), `${p}.relu1`);
    out = relu(batchNorm(stridedGmr(out, `${p}.conv2`, planes), `${p}.bn2`), `${p}.relu2`);
    out = bnZeroGamma(pointwise(out, `${p}.conv3`, planes * expansion, o.pointwiseAs), `${p}.bn3`, o.zeroInitResidual);
  }
  let identity = x;
  if (stride !== 1 || inplanes !== planes * expansion) {
    // Sequential(AvgPool2d(stride), conv1x1, BN); AvgPool2d(1) is the identity and is left out.
    const pooled = stride !== 1 ? avgPool(x, stride, `${p}.downsample.0`) : x;
    identity = batchNorm(
      pointwise(pooled, `${p}.downsample.1`, planes * expansion, o.pointwiseAs),
      `${p}.downsample.2`,
    );
  }
  return relu(apply(tfl.layers.add({ name: `${p}.add` }), [out, identity]), `${p}.relu_out`);
}

/**
 * The generic GMR-ResNet (the official code's GMR_ResNet(block, layers, …)): `kind` 'basic' or 'bottleneck'
 * blocks, `layers` the four stages' block counts. Every spatial filter is a GMR conv, downsampling is average
 * pooling before a stride-1 conv, shortcuts are 1×1 convs, the head global average pooling and a dense layer.
 *
 * Guarantee: with odd GMR kernel sizes (default [9, 9, 5, 5]) the logits are exactly invariant (to float rounding)
 * to the 8 D4 rotations and flips of a square input when every average pool sees an even size: with the default
 * strides, a side divisible by 16 (32 → 16 → 8 → 4 → 2). Other sizes (40 → … → 5) break it at the first pool on an
 * odd size; `checkExactEquivariance(model)` names it. Other angles: approximate. The GMR layers' inference cache
 * applies as in core. Layers carry the PyTorch module names, so `loadPyTorchStateDict` maps weights by name.
 */
export function gmrResNet(kind: BlockKind, layers: number[], options: GMRResNetOptions = {}): tfl.LayersModel {
  const where = `gmrResNet(${kind})`;
  if (kind !== 'basic' && kind !== 'bottleneck') invalid(where, 'block', kind, "'basic' or 'bottleneck'");
  if (!Array.isArray(layers) || layers.length !== 4) invalid(where, 'layers', layers, '4 block counts');
  layers.forEach((n, i) => checkInt(where, `layers[${i}]`, n));
  const o = resolve(where, options);
  const expansion = kind === 'basic' ? 1 : 4;
  const input = tfl.input({ shape: [o.inputSize[0], o.inputSize[1], o.inChannels], name: 'input' });
  let x = gmrConv(input, 'conv1', o.inplanes, 5, o.gmr);
  x = relu(batchNorm(x, 'bn1'), 'relu');
  if (!o.skipFirstPool) x = avgPool(x, 2, 'first_avgpool');
  let inplanes = o.inplanes;
  for (let stage = 0; stage < 4; stage++) {
    const planes = o.inplanes * 2 ** stage;
    for (let b = 0; b < layers[stage]; b++) {
      const stride = b === 0 ? o.strides[stage] : 1;
      x = gmrBlock(kind, x, `layer${stage + 1}.${b}`, inplanes, planes, stride, o.sizes[stage], o.rings[stage], o);
      inplanes = planes * expansion;
    }
  }
  x = apply(tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  const logits = linear(x, 'fc', o.numClasses, 8 * o.inplanes * expansion);
  const name =
    options.name ??
    (kind === 'basic' ? (layers.join() === '2,2,2,2' ? 'gmr_resnet18' : 'gmr_resnet34') : 'gmr_resnet50');
  return tfl.model({ inputs: input, outputs: logits, name });
}

/** GMR-ResNet-18 (basic blocks [2, 2, 2, 2]); the guarantee as gmrResNet. */
export const gmrResNet18 = (o: GMRResNetOptions = {}) =>
  gmrResNet('basic', [2, 2, 2, 2], { name: 'gmr_resnet18', ...o });
/** GMR-ResNet-34 (basic blocks [3, 4, 6, 3]); the guarantee as gmrResNet. */
export const gmrResNet34 = (o: GMRResNetOptions = {}) =>
  gmrResNet('basic', [3, 4, 6, 3], { name: 'gmr_resnet34', ...o });
/** GMR-ResNet-50 (bottleneck blocks [3, 4, 6, 3]); the guarantee as gmrResNet. */
export const gmrResNet50 = (o: GMRResNetOptions = {}) =>
  gmrResNet('bottleneck', [3, 4, 6, 3], { name: 'gmr_resnet50', ...o });

export interface ResNetOptions {
  numClasses?: number;
  inChannels?: number;
  inplanes?: number;
  /** Stem kernel size, stride 1 (default 5: main.py --res-keep-conv1 baseline, 11,177,034 params at 10 classes); 7 with stemStride 2 is torchvision's. */
  stemKernel?: number;
  stemStride?: number;
  /** The 3×3 stride-2 max pool after the stem (default true, as torchvision). */
  maxPool?: boolean;
  inputSize?: [number | null, number | null];
  name?: string;
}

/** A plain conv with PyTorch padding p, stride s: ZeroPadding2D(p) → Conv2D valid. */
function plainConv(
  x: SymbolicTensor,
  name: string,
  filters: number,
  k: number,
  stride: number,
  pad: number,
): SymbolicTensor {
  if (pad > 0) x = apply(tfl.layers.zeroPadding2d({ name: `${name}_pad`, padding: pad }), x);
  return apply(
    new LeanConv2D({
      name,
      filters,
      kernelSize: k,
      strides: stride,
      padding: 'valid',
      useBias: false,
      kernelInitializer: kaimingNormalFanOut(filters, k * k),
    }),
    x,
  );
}

/**
 * The plain ResNet-18 baseline (torchvision layout, PyTorch module names): stem conv
 * k×k (default 5×5 stride 1 pad 2) → BN → ReLU → MaxPool 3/2/1 → BasicBlocks with
 * strided 3×3 convs and conv1x1-stride-s + BN shortcuts → GAP → fc.
 */
export function resNet18(options: ResNetOptions = {}): tfl.LayersModel {
  const where = 'resNet18';
  const numClasses = checkInt(where, 'numClasses', options.numClasses ?? 1000);
  const inChannels = checkInt(where, 'inChannels', options.inChannels ?? 3);
  const inplanes0 = checkInt(where, 'inplanes', options.inplanes ?? 64);
  const k = checkInt(where, 'stemKernel', options.stemKernel ?? 5);
  const stemStride = checkInt(where, 'stemStride', options.stemStride ?? 1);
  const size = options.inputSize ?? [null, null];
  const input = tfl.input({ shape: [size[0], size[1], inChannels], name: 'input' });
  let x = relu(batchNorm(plainConv(input, 'conv1', inplanes0, k, stemStride, Math.floor(k / 2)), 'bn1'), 'relu');
  if (options.maxPool ?? true) {
    // After a ReLU every value is ≥ 0, so zero padding equals PyTorch's −∞ padding of MaxPool2d(3, 2, 1).
    x = apply(tfl.layers.zeroPadding2d({ name: 'maxpool_pad', padding: 1 }), x);
    x = apply(tfl.layers.maxPooling2d({ name: 'maxpool', poolSize: 3, strides: 2, padding: 'valid' }), x);
  }
  let inplanes = inplanes0;
  for (let stage = 0; stage < 4; stage++) {
    const planes = inplanes0 * 2 ** stage;
    for (let b = 0; b < 2; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let out = relu(batchNorm(plainConv(x, `${p}.conv1`, planes, 3, stride, 1), `${p}.bn1`), `${p}.relu1`);
      out = batchNorm(plainConv(out, `${p}.conv2`, planes, 3, 1, 1), `${p}.bn2`);
      let identity = x;
      if (stride !== 1 || inplanes !== planes) {
        identity = batchNorm(plainConv(x, `${p}.downsample.0`, planes, 1, stride, 0), `${p}.downsample.1`);
      }
      x = relu(apply(tfl.layers.add({ name: `${p}.add` }), [out, identity]), `${p}.relu_out`);
      inplanes = planes;
    }
  }
  x = apply(tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  const logits = linear(x, 'fc', numClasses, 8 * inplanes0);
  return tfl.model({ inputs: input, outputs: logits, name: options.name ?? 'resnet18' });
}
