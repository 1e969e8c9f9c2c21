/**
 * GMR-CNN for 28×28 digits and its plain twin, shaped as the official code's GMR-CNN:
 * conv(1→w1, k9)-BN-ReLU-avgpool2-conv(w1→w2, k9)-BN-ReLU-avgpool2-conv(w2→w3, k5)-BN-ReLU-GAP-dense(classes),
 * padding k//2 ('same' for odd k). Widths default to [16, 32, 64], the official code's; widen them
 * (e.g. [32, 64, 128]) if it underfits. 28 → 14 → 7: both pools see even sizes, so the
 * GMR model's logits are D4-invariant to float rounding at 28×28.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { LeanConv2D } from './lean_conv2d.js';
import { GMRHarmonicConv2D, RingPooling2D, invalid } from '@gmr-conv/core';
import {
  apply,
  avgPool,
  batchNorm,
  checkInt,
  gmrConv,
  kaimingNormalFanOut,
  linear,
  relu,
  type GMROptions,
} from './building_blocks.js';

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
  /**
   * GMR-CNN only: how many of each conv's channels are order-`harmonicOrder` harmonic magnitudes (core's
   * GMRHarmonicConv2D, an extension of the paper) instead of isotropic GMR responses; default [0, 0, 0] (the
   * paper's GMR-CNN). They are concatenated after the GMR channels (layers `conv{i}_harmonic`, `conv{i}_concat`).
   */
  harmonicChannels?: [number, number, number];
  /** Angular order m of the harmonic channels (default 1). */
  harmonicOrder?: number;
  name?: string;
}

function build(where: string, kind: 'gmr' | 'plain', o: CNNOptions): tfl.LayersModel {
  const widths = o.widths ?? [16, 32, 64];
  const ks = o.kernelSizes ?? [9, 9, 5];
  if (!Array.isArray(widths) || widths.length !== 3) invalid(where, 'widths', widths, '3 channel counts');
  if (!Array.isArray(ks) || ks.length !== 3) invalid(where, 'kernelSizes', ks, '3 kernel sizes');
  widths.forEach((w, i) => checkInt(where, `widths[${i}]`, w));
  ks.forEach((k, i) => checkInt(where, `kernelSizes[${i}]`, k));
  const numClasses = checkInt(where, 'numClasses', o.numClasses ?? 10);
  const inChannels = checkInt(where, 'inChannels', o.inChannels ?? 1);
  const size = o.inputSize ?? [28, 28];
  const harmonic = o.harmonicChannels ?? [0, 0, 0];
  if (!Array.isArray(harmonic) || harmonic.length !== 3)
    invalid(where, 'harmonicChannels', harmonic, '3 channel counts');
  harmonic.forEach((h, i) => {
    checkInt(where, `harmonicChannels[${i}]`, h, 0);
    if (h > widths[i]) invalid(where, `harmonicChannels[${i}]`, h, `at most widths[${i}] (${widths[i]})`);
  });
  if (kind === 'plain' && harmonic.some((h) => h > 0))
    invalid(where, 'harmonicChannels', harmonic, 'all 0 (harmonic channels are GMR channels; a plain CNN takes none)');
  const input = tfl.input({ shape: [size[0], size[1], inChannels], name: 'input' });
  let x: tfl.SymbolicTensor = input;
  for (let i = 0; i < 3; i++) {
    const name = `conv${i + 1}`;
    const k = ks[i];
    if (kind === 'gmr') x = gmrStage(x, name, widths[i], harmonic[i], k, o);
    else {
      if (k % 2 === 1) {
        x = apply(
          new LeanConv2D({
            name,
            filters: widths[i],
            kernelSize: k,
            padding: 'same',
            useBias: false,
            kernelInitializer: kaimingNormalFanOut(widths[i], k * k),
          }),
          x,
        );
      } else {
        x = apply(tfl.layers.zeroPadding2d({ name: `${name}_pad`, padding: Math.floor(k / 2) }), x);
        x = apply(
          new LeanConv2D({
            name,
            filters: widths[i],
            kernelSize: k,
            padding: 'valid',
            useBias: false,
            kernelInitializer: kaimingNormalFanOut(widths[i], k * k),
          }),
          x,
        );
      }
    }
    x = relu(batchNorm(x, `bn${i + 1}`), `relu${i + 1}`);
    if (i < 2) x = avgPool(x, 2, `pool${i + 1}`);
  }
  const pooling = o.pooling ?? 'average';
  if (pooling !== 'average' && pooling !== 'rings') invalid(where, 'pooling', pooling, "'average' or 'rings'");
  x = apply(
    pooling === 'rings'
      ? new RingPooling2D({ name: 'ringpool' })
      : tfl.layers.globalAveragePooling2d({ name: 'avgpool' }),
    x,
  );
  const logits = linear(x, 'fc', numClasses, x.shape[1] as number);
  return tfl.model({ inputs: input, outputs: logits, name: o.name ?? (kind === 'gmr' ? 'gmr_cnn' : 'plain_cnn') });
}

/** One GMR-CNN conv: `width − h` isotropic GMR channels, then `h` harmonic magnitudes (when h > 0). */
function gmrStage(
  x: tfl.SymbolicTensor,
  name: string,
  width: number,
  h: number,
  k: number,
  o: CNNOptions,
): tfl.SymbolicTensor {
  if (h === 0) return gmrConv(x, name, width, k, o.gmr ?? {});
  const { trainIndexMat: _unused, ...gmr } = o.gmr ?? {};
  const harmonic = apply(
    new GMRHarmonicConv2D({
      name: `${name}_harmonic`,
      filters: h,
      kernelSize: k,
      padding: Math.floor(k / 2),
      useBias: false,
      initScheme: 'kaimingNormalFanOut',
      order: o.harmonicOrder ?? 1,
      ...gmr,
    }),
    x,
  );
  if (h === width) return harmonic;
  return apply(tfl.layers.concatenate({ name: `${name}_concat`, axis: -1 }), [
    gmrConv(x, name, width - h, k, o.gmr ?? {}),
    harmonic,
  ]);
}

/**
 * The GMR-CNN for 28×28 digits: three GMR convs (kernel sizes [9, 9, 5], no bias, θ Kaiming-normal fan_out), each
 * followed by BN and ReLU, 2×2 average pools after the first two, then global average pooling (or, with
 * `pooling: 'rings'`, core's RingPooling2D) and a dense layer.
 *
 * Guarantee: its logits are exactly invariant (to float rounding) to the 8 D4 rotations and flips of a square
 * input when the kernel sizes are odd and both pools see even sizes, i.e. a side divisible by 4 (28 → 14 → 7);
 * `harmonicChannels` keep that (their magnitudes are invariant). On a side that is not (30 → 15) the second pool
 * samples an asymmetric grid and the invariance is only approximate; `checkExactEquivariance(model)` names the
 * layer. At other angles the invariance is approximate. At inference the GMR layers keep their smoothed ring basis
 * between calls on core's composed kernels (their inference cache). Bad options throw GMRValueError.
 */
export const gmrCNN = (o: CNNOptions = {}) => build('gmrCNN', 'gmr', o);
/** The GMR-CNN's plain twin: the same network with tf.layers.conv2d (k×k free weights): no symmetry guarantee. */
export const plainCNN = (o: CNNOptions = {}) => build('plainCNN', 'plain', o);
