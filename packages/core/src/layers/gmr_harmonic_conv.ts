/**
 * GMRHarmonicConv2D: GMR rings times a circular harmonic, K(r, φ) = Σ_i θ_i G_i(r) · (cos mφ, sin mφ).
 * An extension of the paper, not in it. A GMR kernel is isotropic, so a network of GMR convs only ever compares
 * radial profiles; it cannot tell how two features are oriented relative to each other (6 and 9 differ mainly in
 * that). A harmonic pair responds to orientation: rotating the input by α rotates the pair (c, s) by mα, so its
 * magnitude √(c² + s²) is again invariant, and a magnitude of a sum over input channels holds their relative
 * orientations (the cross terms). Circular harmonics with free radial profiles are the Harmonic Networks' filters
 * (Worrall et al., 2017); here the radial profile is the GMR ring mixture, with the same θ, σ and ring geometry.
 *
 * Computed by the GMR op itself: G·cos mφ = P·(M ∘ cos mφ), so the pair is two GMR convs whose ring masks carry
 * the angular weights (every kernel package takes weighted masks). On the pixel grid the masks of an odd square
 * kernel map onto each other exactly under 90° rotations and flips, so the magnitude output is exactly invariant
 * to them (as a GMR conv's output), and nearly so at other angles.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gmrConv2d } from '../ops/gmr_conv_ops.js';
import { invalid, checkPositiveInt } from '../utils/errors.js';
import { GMRConvBase, type GMRConvLayerArgs } from './gmr_conv_layer.js';
import { synthesizeKernel } from '../kernel/synthesis.js';
import { smoothedBasis } from '../mixture/gaussian_mixture.js';

export const HARMONIC_OUTPUTS = ['magnitude', 'components'] as const;
export type HarmonicOutput = (typeof HARMONIC_OUTPUTS)[number];

export interface GMRHarmonicConvLayerArgs extends Omit<GMRConvLayerArgs, 'trainIndexMat' | 'outputPadding'> {
  /** Angular frequency m of cos mφ / sin mφ (default 1: responds to direction; 2: to axis, as a line). */
  order?: number;
  /**
   * 'magnitude' (default): √(c² + s² + ε), `filters` channels, invariant (bias and activation apply to it).
   * 'components': c then s, 2·filters channels, equivariant (a rotation by α turns each (c, s) pair by mα); no bias.
   */
  outputMode?: HarmonicOutput;
  /** ε under the square root of the magnitude (keeps its gradient finite at zero). Default 1e-6. */
  magnitudeEpsilon?: number;
}

/** cos mφ and sin mφ of every tap of a kernel, φ measured from the kernel's centre (0 at the centre itself). */
export function angularFactors(kernelSize: [number, number], order: number): { cos: Float32Array; sin: Float32Array } {
  const [kh, kw] = kernelSize;
  const cos = new Float32Array(kh * kw);
  const sin = new Float32Array(kh * kw);
  for (let row = 0; row < kh; row++) {
    for (let col = 0; col < kw; col++) {
      const dy = row - (kh - 1) / 2;
      const dx = col - (kw - 1) / 2;
      const r2 = dx * dx + dy * dy;
      if (r2 === 0) continue;
      const t = row * kw + col;
      // Exact rational forms for m = 1, 2, so the 90° rotations permute the values exactly.
      if (order === 1) {
        const r = Math.sqrt(r2);
        cos[t] = dx / r;
        sin[t] = dy / r;
      } else if (order === 2) {
        cos[t] = (dx * dx - dy * dy) / r2;
        sin[t] = (2 * dx * dy) / r2;
      } else {
        const phi = Math.atan2(dy, dx);
        cos[t] = Math.cos(order * phi);
        sin[t] = Math.sin(order * phi);
      }
    }
  }
  return { cos, sin };
}

/**
 * A GMR convolution whose rings are weighted by a circular harmonic of order m (cos mφ and sin mφ about the
 * kernel's centre), so it responds to orientation while its default output, the magnitude √(c² + s² + ε), does
 * not. Same θ, σ, ring and conv options as GMRConv2D (not trainIndexMat), plus `order` and `outputMode`.
 *
 * Guarantee: under GMRConv2D's conditions (odd square kernel, same settings on both axes, symmetric window grid)
 * the 'magnitude' output is exactly invariant, channel by channel, to the 8 D4 symmetries of the input (to float
 * rounding); the 'components' output (c then s) turns as a vector of order m under 90° rotations and is mirrored
 * under flips. At other angles both are approximate (the harmonic is sampled on the pixel grid).
 *
 * Inference: the angular masks are fixed and kept between calls (freed by dispose()); the smoothing and the two
 * convolutions run on every call, so the `inferenceCache` option has no effect here.
 */
export class GMRHarmonicConv2D extends GMRConvBase {
  static className = 'GMRHarmonicConv2D';
  readonly order: number;
  readonly outputMode: HarmonicOutput;
  readonly magnitudeEpsilon: number;
  private angularMasks: [tf.Tensor2D, tf.Tensor2D] | null = null;

  constructor(args: GMRHarmonicConvLayerArgs) {
    const where = 'GMRHarmonicConv2D';
    if (args == null || typeof args !== 'object')
      invalid(where, 'args', args, 'an options object with filters and kernelSize');
    const a = args as GMRHarmonicConvLayerArgs & { trainIndexMat?: unknown; outputPadding?: unknown };
    if (a.trainIndexMat)
      invalid(where, 'trainIndexMat', a.trainIndexMat, 'false (trained masks would lose the angular structure)');
    const output = args.outputMode ?? 'magnitude';
    if (!(HARMONIC_OUTPUTS as readonly string[]).includes(output))
      invalid(where, 'outputMode', args.outputMode, "'magnitude' or 'components'");
    if (output === 'components' && args.useBias)
      invalid(
        where,
        'useBias',
        args.useBias,
        "false with outputMode 'components' (a bias on a harmonic pair is not rotation-equivariant)",
      );
    if (output === 'components' && args.activation != null && args.activation !== 'linear')
      invalid(
        where,
        'activation',
        args.activation,
        "'linear' with outputMode 'components' (apply a non-linearity to the magnitude)",
      );
    super(2, false, { ...args, useBias: args.useBias ?? output === 'magnitude', trainIndexMat: false });
    this.order = checkPositiveInt(where, 'order', args.order ?? 1);
    this.outputMode = output;
    this.magnitudeEpsilon = args.magnitudeEpsilon ?? 1e-6;
    if (!(this.magnitudeEpsilon > 0) || !Number.isFinite(this.magnitudeEpsilon))
      invalid(where, 'magnitudeEpsilon', args.magnitudeEpsilon, 'a finite positive number');
  }

  /** Output channels: filters (magnitude) or 2·filters (components). */
  get outputChannels(): number {
    return this.outputMode === 'magnitude' ? this.filters : 2 * this.filters;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = super.computeOutputShape(inputShape);
    shape[this.dataFormat === 'channelsLast' ? shape.length - 1 : 1] = this.outputChannels;
    return shape;
  }

  /** The ring masks times cos mφ and times sin mφ, [numRings, kh·kw] each (kept until the layer is disposed). */
  harmonicMasks(): [tf.Tensor2D, tf.Tensor2D] {
    if (!this.angularMasks || this.angularMasks[0].isDisposed) {
      const { cos, sin } = angularFactors(this.kernelSize as [number, number], this.order);
      const m = this.geometry.masks;
      const taps = cos.length;
      const mc = new Float32Array(m.length);
      const ms = new Float32Array(m.length);
      for (let i = 0; i < m.length; i++) {
        mc[i] = m[i]! * cos[i % taps]!;
        ms[i] = m[i]! * sin[i % taps]!;
      }
      this.angularMasks = [
        tf.keep(tf.tensor2d(mc, [this.numRings, taps])),
        tf.keep(tf.tensor2d(ms, [this.numRings, taps])),
      ];
    }
    return this.angularMasks;
  }

  /** The dense kernel pair [kh, kw, in/groups, 2·filters]: the cos kernels, then the sin kernels. */
  override synthesizedKernel(): tf.Tensor {
    this.assertBuilt('synthesizedKernel');
    return tf.tidy(() => {
      const ls = this.logSigmasVar?.read() ?? null;
      const [mc, ms] = this.harmonicMasks();
      const theta = this.kernelVar!.read();
      const kc = synthesizeKernel(theta, smoothedBasis(mc, ls, this.sigmaClip()), this.kernelSize);
      const ks = synthesizeKernel(theta, smoothedBasis(ms, ls, this.sigmaClip()), this.kernelSize);
      return tf.concat([kc, ks], 3);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: { training?: boolean; [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const opts = this.opOptions();
      const [mc, ms] = this.harmonicMasks();
      const w = { weight: this.kernelVar!.read(), logSigmas: this.logSigmasVar?.read() ?? null, bias: null };
      const c = gmrConv2d(x, { ...w, indexMat: mc }, opts);
      const s = gmrConv2d(x, { ...w, indexMat: ms }, opts);
      const axis = this.dataFormat === 'channelsLast' ? 3 : 1;
      if (this.outputMode === 'components') return tf.concat([c, s], axis);
      let y: tf.Tensor = tf.sqrt(tf.add(tf.add(tf.square(c), tf.square(s)), this.magnitudeEpsilon));
      if (this.biasVar) {
        const b = this.biasVar.read();
        y = tf.add(y, axis === 3 ? b : tf.reshape(b, [1, this.filters, 1, 1]));
      }
      return this.activationFn ? this.activationFn.apply(y) : y;
    });
  }

  override disposeCaches(): void {
    super.disposeCaches();
    this.angularMasks?.forEach((t) => t.dispose());
    this.angularMasks = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = super.getConfig();
    delete config['trainIndexMat'];
    return { ...config, order: this.order, outputMode: this.outputMode, magnitudeEpsilon: this.magnitudeEpsilon };
  }
}

tf.serialization.registerClass(GMRHarmonicConv2D);

/** Factory in the style of tf.layers.conv2d. */
export const gmrHarmonicConv2dLayer = (args: GMRHarmonicConvLayerArgs) => new GMRHarmonicConv2D(args);
