/**
 * GMR-ResNet3D (`gmr_resnet_3d.py`): gmrR3D9 ([1,1,1,1]) and gmrR3D18 ([2,2,2,2]),
 * channels-last 5D input [batch, D, H, W, C].
 * Stem `stem.0` GMR 3D conv (3,7,7) stride 1 pad (1,3,3), no bias → BN3d `stem.1` → ReLU.
 * GMRBasicBlock: conv1 = [AvgPool3d(s) `conv1.0`] → GMR k³ pad k//2 `conv1.1` → BN `conv1.2` → ReLU;
 * conv2 = GMR k³ `conv2.0` → BN `conv2.1`; shortcut AvgPool3d(s) → 1×1×1 conv `downsample.1` → BN `downsample.2`.
 * Stages 64·(1,2,4,8) (inplanes configurable), strides [1,2,2,2], head global average pool → fc.
 * Init as the reference: GMR convs keep the layer default (θ ~ U(±1/√(Cin·k³))), 1×1×1 convs
 * Kaiming normal fan_out, BN γ=1 β=0, fc ~ N(0, 0.01) with zero bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization, GMRConv3D, invalid } from '@gmr-conv/core';
import {
  apply,
  checkInt,
  perStage,
  pointwise,
  relu,
  type GMROptions,
  type PointwiseAs,
  type SymbolicTensor,
} from './building_blocks.js';

/** Mean over the three spatial axes of a channels-last 5D tensor (tfjs-layers has no GlobalAveragePooling3D). */
export class GlobalAveragePooling3D extends tfl.layers.Layer {
  static className = 'GMRModelsGlobalAveragePooling3D';
  override computeOutputShape(inputShape: (number | null)[]): (number | null)[] {
    return [inputShape[0], inputShape[4]];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mean(Array.isArray(inputs) ? inputs[0] : inputs, [1, 2, 3]));
  }
}
tf.serialization.registerClass(GlobalAveragePooling3D);

/**
 * BatchNormalization over the last axis of a 5D tensor (tfjs-layers' own stops at rank 4):
 * [B, D, H, W, C] is folded to [B·D, H, W, C], normalised, and unfolded. Same weights and
 * statistics as BatchNorm3d (mean / variance over B, D, H, W).
 */
export class BatchNormalization5D extends FusedBatchNormalization {
  static override className = 'GMRModelsBatchNormalization5D';
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (x.rank !== 5) return super.call(x, kwargs) as tf.Tensor;
    const [b, d, h, w, c] = x.shape;
    const x4 = tf.reshape(x, [b * d, h, w, c]);
    const y = super.call(x4, kwargs) as tf.Tensor;
    const out = tf.reshape(y, x.shape);
    tf.dispose([x4, y]);
    return out;
  }
}
tf.serialization.registerClass(
  BatchNormalization5D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);

function batchNorm5d(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(new BatchNormalization5D({ name, axis: -1, epsilon: 1e-5, momentum: 0.9 }), x);
}

export interface GMRResNet3DOptions {
  numClasses?: number;
  inChannels?: number;
  /** Base width (default 64, fixed in the reference). */
  inplanes?: number;
  /** GMR kernel size per stage (default 3, the reference's). */
  gmrConvSize?: number | number[];
  numRings?: number | null | (number | null)[];
  /** Input size [D, H, W] (default any). */
  inputSize?: [number | null, number | null, number | null];
  pointwiseAs?: PointwiseAs;
  gmr?: GMROptions;
  name?: string;
}

function gmr3d(
  x: SymbolicTensor,
  name: string,
  filters: number,
  k: number[],
  pad: number[],
  o: GMROptions,
  numRings: number | null,
): SymbolicTensor {
  return apply(
    new GMRConv3D({
      name,
      filters,
      kernelSize: k,
      strides: 1,
      padding: pad,
      useBias: false,
      initScheme: 'reference',
      ...o,
      ...(numRings != null ? { numRings } : {}),
    }),
    x,
  );
}

function pool3d(x: SymbolicTensor, s: number, name: string): SymbolicTensor {
  return apply(tfl.layers.averagePooling3d({ name, poolSize: s, strides: s, padding: 'valid' }), x);
}

/** pointwise() for 5D: Dense on the channel axis or Conv3D 1×1×1. */
function pointwise3d(x: SymbolicTensor, name: string, filters: number, as: PointwiseAs): SymbolicTensor {
  if (as === 'dense') return pointwise(x, name, filters, 'dense');
  return apply(
    tfl.layers.conv3d({
      name,
      filters,
      kernelSize: 1,
      useBias: false,
      kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / filters) }),
    }),
    x,
  );
}

/**
 * The generic GMR-ResNet3D for [batch, D, H, W, C] volumes (`layers`: the four stages' block counts). Its stem
 * kernel is 3×7×7, so the symmetries it can keep are those that leave the depth axis in place: flips of D, H and W
 * and the H↔W transpose (with the 90° rotations in the H×W plane they form 16 of the cube's 48). Under them the
 * logits are invariant (tested to 1e-4 at 8×16×16) when H = W and every average pool sees even sizes; rotations
 * that move the depth axis, and other angles, are approximate.
 */
export function gmrResNet3D(layers: number[], options: GMRResNet3DOptions = {}): tfl.LayersModel {
  const where = 'gmrResNet3D';
  if (!Array.isArray(layers) || layers.length !== 4) invalid(where, 'layers', layers, '4 block counts');
  const numClasses = checkInt(where, 'numClasses', options.numClasses ?? 400);
  const inChannels = checkInt(where, 'inChannels', options.inChannels ?? 3);
  const base = checkInt(where, 'inplanes', options.inplanes ?? 64);
  const sizes = perStage(where, 'gmrConvSize', options.gmrConvSize ?? 3, 4).map((k, i) =>
    checkInt(where, `gmrConvSize[${i}]`, k),
  );
  const rings = perStage<number | null>(where, 'numRings', options.numRings ?? null, 4);
  const gmr = options.gmr ?? {};
  const as = options.pointwiseAs ?? 'dense';
  const size = options.inputSize ?? [null, null, null];
  const input = tfl.input({ shape: [size[0], size[1], size[2], inChannels], name: 'input' });
  let x = gmr3d(input, 'stem.0', base, [3, 7, 7], [1, 3, 3], gmr, null);
  x = relu(batchNorm5d(x, 'stem.1'), 'stem.2');
  let inplanes = base;
  for (let stage = 0; stage < 4; stage++) {
    const planes = base * 2 ** stage;
    const k = sizes[stage];
    const pad = Math.floor(k / 2);
    for (let b = 0; b < layers[stage]; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const pooled = stride > 1 ? pool3d(x, stride, `${p}.conv1.0`) : x;
      let out = relu(
        batchNorm5d(
          gmr3d(pooled, `${p}.conv1.1`, planes, [k, k, k], [pad, pad, pad], gmr, rings[stage]),
          `${p}.conv1.2`,
        ),
        `${p}.conv1.3`,
      );
      out = batchNorm5d(
        gmr3d(out, `${p}.conv2.0`, planes, [k, k, k], [pad, pad, pad], gmr, rings[stage]),
        `${p}.conv2.1`,
      );
      let identity = x;
      if (stride !== 1 || inplanes !== planes) {
        const dpool = stride > 1 ? pool3d(x, stride, `${p}.downsample.0`) : x;
        identity = batchNorm5d(pointwise3d(dpool, `${p}.downsample.1`, planes, as), `${p}.downsample.2`);
      }
      x = relu(apply(tfl.layers.add({ name: `${p}.add` }), [out, identity]), `${p}.relu`);
      inplanes = planes;
    }
  }
  x = apply(new GlobalAveragePooling3D({ name: 'avgpool' }), x);
  const logits = apply(
    tfl.layers.dense({
      name: 'fc',
      units: numClasses,
      kernelInitializer: tfl.initializers.randomNormal({ mean: 0, stddev: 0.01 }),
      biasInitializer: 'zeros',
    }),
    x,
  );
  return tfl.model({ inputs: input, outputs: logits, name: options.name ?? 'gmr_r3d' });
}

/** GMR-R3D-9 (blocks [1, 1, 1, 1]); as gmrResNet3D. */
export const gmrR3D9 = (o: GMRResNet3DOptions = {}) => gmrResNet3D([1, 1, 1, 1], { name: 'gmr_r3d_9', ...o });
/** GMR-R3D-18 (blocks [2, 2, 2, 2]); as gmrResNet3D. */
export const gmrR3D18 = (o: GMRResNet3DOptions = {}) => gmrResNet3D([2, 2, 2, 2], { name: 'gmr_r3d_18', ...o });
