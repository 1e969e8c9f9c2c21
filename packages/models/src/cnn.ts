/**
 * GMR-CNN for 28×28 digits and its plain twin (reference landscape table):
 * conv(1→w1, k9)-BN-ReLU-avgpool2-conv(w1→w2, k9)-BN-ReLU-avgpool2-conv(w2→w3, k5)-BN-ReLU-GAP-dense(classes),
 * padding k//2 ('same' for odd k). Widths default to [16, 32, 64] as the table; widen them
 * (e.g. [32, 64, 128]) if it underfits. 28 → 14 → 7: both pools see even sizes, so the
 * GMR model's logits are D4-invariant to float rounding at 28×28.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { RingPooling2D } from '@gmr-conv/core';
import { apply, avgPool, batchNorm, checkInt, gmrConv, kaimingNormalFanOut, linear, relu, type GMROptions } from './building_blocks.js';

export interface CNNOptions {
  numClasses?: number;
  inChannels?: number;
  /** Channels of the three convs (default [16, 32, 64]). */
  widths?: [number, number, number];
  /** Kernel sizes of the three convs (default [9, 9, 5]). */
  kernelSizes?: [number, number, number];
  /** Input size (default [28, 28]; null for any). */
  inputSize?: [number | null, number | null];
  gmr?: GMROptions;
  /**
   * How the last feature map becomes the classifier's input: 'average' (global average pooling, as the reference
   * table) or 'rings' (core's RingPooling2D: a mean per ring of equal distance to the centre, per channel — still
   * exactly invariant to 90° rotations and flips, but it keeps where a feature is, radially). Default 'average'.
   */
  pooling?: 'average' | 'rings';
  name?: string;
}

function build(where: string, kind: 'gmr' | 'plain', o: CNNOptions): tfl.LayersModel {
  const widths = o.widths ?? [16, 32, 64];
  const ks = o.kernelSizes ?? [9, 9, 5];
  if (!Array.isArray(widths) || widths.length !== 3) throw new Error(`${where}: widths must be 3 channel counts, got ${JSON.stringify(widths)}`);
  if (!Array.isArray(ks) || ks.length !== 3) throw new Error(`${where}: kernelSizes must be 3 sizes, got ${JSON.stringify(ks)}`);
  widths.forEach((w, i) => checkInt(where, `widths[${i}]`, w));
  ks.forEach((k, i) => checkInt(where, `kernelSizes[${i}]`, k));
  const numClasses = checkInt(where, 'numClasses', o.numClasses ?? 10);
  const inChannels = checkInt(where, 'inChannels', o.inChannels ?? 1);
  const size = o.inputSize ?? [28, 28];
  const input = tfl.input({ shape: [size[0], size[1], inChannels], name: 'input' });
  let x: tfl.SymbolicTensor = input;
  for (let i = 0; i < 3; i++) {
    const name = `conv${i + 1}`;
    const k = ks[i];
    if (kind === 'gmr') x = gmrConv(x, name, widths[i], k, o.gmr ?? {});
    else {
      if (k % 2 === 1) {
        x = apply(tfl.layers.conv2d({ name, filters: widths[i], kernelSize: k, padding: 'same', useBias: false, kernelInitializer: kaimingNormalFanOut(widths[i], k * k) }), x);
      } else {
        x = apply(tfl.layers.zeroPadding2d({ name: `${name}_pad`, padding: Math.floor(k / 2) }), x);
        x = apply(tfl.layers.conv2d({ name, filters: widths[i], kernelSize: k, padding: 'valid', useBias: false, kernelInitializer: kaimingNormalFanOut(widths[i], k * k) }), x);
      }
    }
    x = relu(batchNorm(x, `bn${i + 1}`), `relu${i + 1}`);
    if (i < 2) x = avgPool(x, 2, `pool${i + 1}`);
  }
  const pooling = o.pooling ?? 'average';
  if (pooling !== 'average' && pooling !== 'rings') throw new Error(`${where}: pooling must be 'average' or 'rings', got ${JSON.stringify(pooling)}`);
  x = apply(pooling === 'rings' ? new RingPooling2D({ name: 'ringpool' }) : tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  const logits = linear(x, 'fc', numClasses, x.shape[1] as number);
  return tfl.model({ inputs: input, outputs: logits, name: o.name ?? (kind === 'gmr' ? 'gmr_cnn' : 'plain_cnn') });
}

/** The GMR-CNN (GMR convs without bias, θ Kaiming-normal fan_out). */
export const gmrCNN = (o: CNNOptions = {}) => build('gmrCNN', 'gmr', o);
/** Its plain twin: the same shape with tf.layers.conv2d. */
export const plainCNN = (o: CNNOptions = {}) => build('plainCNN', 'plain', o);
