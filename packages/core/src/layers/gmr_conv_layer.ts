/**
 * GMR convolution layers for @tensorflow/tfjs-layers. The options mirror
 * tf.layers.conv{1,2,3}d (filters, kernelSize, strides, padding, dilationRate,
 * dataFormat, useBias, activation, initializers, regularizers, constraints) so a
 * model swaps a plain conv for a GMR conv by changing one word; the GMR options
 * follow the reference (numRings, forceCircular, gaussianMixtureRing, …).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { RingGeometry } from '../rings/ring_masks.js';
import { markSymmetricRings } from '../rings/symmetry.js';
import { initialLogSigmas, smoothedBasis } from '../mixture/gaussian_mixture.js';
import { synthesizeKernel } from '../kernel/synthesis.js';
import {
  gmrConv1d,
  gmrConv2d,
  gmrConv3d,
  gmrConvTranspose2d,
  normalizeDataFormat,
  type GMRConvOptions,
} from '../ops/gmr_conv_ops.js';
import { checkPaddingMode, checkPaddingSpec, type PaddingMode, type PaddingSpec } from '../ops/padding.js';
import { gmrConvAxis, specPads } from '../kernel/conv_info.js';
import type { DataFormat } from '../ops/attrs.js';
import { checkPositiveInt, checkNonNegativeInt, GMRValueError, invalid, toTuple } from '../utils/errors.js';
import {
  resolveSerializable,
  resolveWeightOptions,
  serializeObject,
  type Initializer,
  type Regularizer,
} from './identifiers.js';
import { GMRKaimingNormal, GMRReferenceUniform, type InitScheme } from './initializers.js';
import { bool, recordingGradients } from './layer_utils.js';
import { resolveRingOptions, type GMRRingArgs } from './ring_options.js';
import { variableToken } from '../utils/data_token.js';
import { GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, GMR_CONV_2D_TRANSPOSE } from '../kernel/kernel_names.js';
import { usesComposedKernel } from '../kernel/kernel_registry.js';

type Constraint = { apply(w: tf.Tensor): tf.Tensor };
type Activation = { apply(x: tf.Tensor, axis?: number): tf.Tensor };
type LayerVariable = { read(): tf.Tensor; write(v: tf.Tensor): unknown; name: string };

export interface GMRConvLayerArgs extends LayerArgs, GMRRingArgs {
  /** Output channels. */
  filters: number;
  kernelSize: number | number[];
  strides?: number | number[];
  /** 'valid' (default), 'same' (tfjs semantics, also with stride > 1), or PyTorch-style numbers / [before, after] pairs. */
  padding?: PaddingSpec;
  /** How padded values are made: 'zeros' (default), 'reflect', 'replicate', 'circular'. */
  paddingMode?: PaddingMode;
  dilationRate?: number | number[];
  dataFormat?: DataFormat;
  groups?: number;
  useBias?: boolean;
  activation?: string | Activation;
  kernelInitializer?: string | Initializer | tf.serialization.ConfigDict;
  biasInitializer?: string | Initializer | tf.serialization.ConfigDict;
  kernelRegularizer?: string | Regularizer | tf.serialization.ConfigDict;
  biasRegularizer?: string | Regularizer | tf.serialization.ConfigDict;
  activityRegularizer?: string | Regularizer | tf.serialization.ConfigDict;
  kernelConstraint?: string | Constraint | tf.serialization.ConfigDict;
  biasConstraint?: string | Constraint | tf.serialization.ConfigDict;
  /** Reference init scheme used when no kernelInitializer is given: 'reference' (layer default) or 'kaimingNormalFanOut' (GMR-ResNet). */
  initScheme?: InitScheme;
  /** Train the ring masks too (the reference's pre-2026 default; breaks equivariance). Use clipIndexMat() after each step. */
  trainIndexMat?: boolean;
  /** 'auto' picks the cheaper of the two-stage and dense paths per call. */
  path?: 'auto' | 'two-stage' | 'dense';
  twoStageBasis?: 'smoothed' | 'binary';
  /** Cache the smoothed basis in inference (invalidated whenever a weight changes). */
  inferenceCache?: boolean;
  /** Transposed layers: extra output size on one side. */
  outputPadding?: number | number[];
}

const OPS = { 1: gmrConv1d, 2: gmrConv2d, 3: gmrConv3d } as const;

/**
 * The shared implementation of GMRConv1D/2D/3D/2DTranspose (use those; GMRConv2D's docstring states the
 * equivariance guarantee, what breaks it and what the inference cache does). A layer holds θ
 * [filters, in/groups, numRings] (transposed: [in, filters/groups, numRings]), log σ [numRings] and the bias, and
 * calls core's GMR op, which dispatches to the registered kernel of the active backend.
 */
export abstract class GMRConvBase extends tfl.layers.Layer {
  readonly rank: number;
  readonly transposed: boolean;
  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: PaddingSpec;
  readonly paddingMode: PaddingMode;
  readonly dilationRate: number[];
  readonly dataFormat: DataFormat;
  readonly groups: number;
  readonly useBias: boolean;
  readonly numRings: number;
  readonly forceCircular: boolean;
  readonly gaussianMixtureRing: boolean;
  readonly trainGaussianSigma: boolean;
  readonly sigmaScale: number;
  readonly clipSigma: boolean;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly trainIndexMat: boolean;
  readonly path: 'auto' | 'two-stage' | 'dense';
  readonly twoStageBasis: 'smoothed' | 'binary';
  readonly inferenceCache: boolean;
  readonly initScheme: InitScheme;
  readonly outputPadding: number[];
  readonly geometry: RingGeometry;
  protected readonly activationFn?: Activation;
  protected kernelInitializer?: Initializer;
  protected biasInitializer?: Initializer;
  protected readonly kernelRegularizer?: Regularizer;
  protected readonly biasRegularizer?: Regularizer;
  protected readonly kernelConstraint?: Constraint;
  protected readonly biasConstraint?: Constraint;
  private readonly activationId: string | null;
  protected kernelVar: LayerVariable | null = null;
  protected biasVar: LayerVariable | null = null;
  protected logSigmasVar: LayerVariable | null = null;
  private indexMatVar: LayerVariable | null = null;
  private fixedIndexMat: tf.Tensor2D | null = null;
  private cache: { key: string; basis: tf.Tensor2D } | null = null;

  constructor(rank: number, transposed: boolean, args: GMRConvLayerArgs) {
    super(args);
    const where = (this.constructor as unknown as { className: string }).className ?? 'GMRConv';
    if (args == null || typeof args !== 'object')
      invalid(where, 'args', args, 'an options object with filters and kernelSize');
    this.rank = rank;
    this.transposed = transposed;
    this.filters = checkPositiveInt(where, 'filters', args.filters);
    this.kernelSize = toTuple(where, 'kernelSize', args.kernelSize, rank);
    this.strides = toTuple(where, 'strides', args.strides ?? 1, rank);
    this.dilationRate = toTuple(where, 'dilationRate', args.dilationRate ?? 1, rank);
    this.padding = checkPaddingSpec(where, args.padding ?? 'valid', rank);
    this.paddingMode = checkPaddingMode(where, args.paddingMode ?? 'zeros');
    if (transposed && this.paddingMode !== 'zeros')
      invalid(where, 'paddingMode', args.paddingMode, "'zeros' for a transposed convolution");
    this.dataFormat = normalizeDataFormat(where, args.dataFormat);
    this.groups = checkPositiveInt(where, 'groups', args.groups ?? 1);
    if (this.filters % this.groups !== 0)
      invalid(where, 'groups', args.groups, `a divisor of filters (${this.filters})`);
    this.useBias = bool(where, 'useBias', args.useBias, true);
    const rings = resolveRingOptions(where, this.kernelSize, args);
    this.forceCircular = rings.forceCircular;
    this.gaussianMixtureRing = rings.gaussianMixtureRing;
    this.trainGaussianSigma = rings.trainGaussianSigma;
    this.clipSigma = rings.clipSigma;
    this.sigmaScale = rings.sigmaScale;
    this.geometry = rings.geometry;
    this.numRings = rings.numRings;
    this.sigmaMin = rings.sigmaMin;
    this.sigmaMax = rings.sigmaMax;
    this.trainIndexMat = bool(where, 'trainIndexMat', args.trainIndexMat, false);
    this.inferenceCache = bool(where, 'inferenceCache', args.inferenceCache, true);
    this.path = args.path ?? 'auto';
    if (!['auto', 'two-stage', 'dense'].includes(this.path))
      invalid(where, 'path', args.path, "'auto', 'two-stage' or 'dense'");
    this.twoStageBasis = args.twoStageBasis ?? 'binary';
    if (!['smoothed', 'binary'].includes(this.twoStageBasis))
      invalid(where, 'twoStageBasis', args.twoStageBasis, "'smoothed' or 'binary'");
    this.initScheme = args.initScheme ?? 'reference';
    if (!['reference', 'kaimingNormalFanOut'].includes(this.initScheme))
      invalid(where, 'initScheme', args.initScheme, "'reference' or 'kaimingNormalFanOut'");
    this.outputPadding = toTuple(where, 'outputPadding', args.outputPadding ?? 0, rank, checkNonNegativeInt);
    this.activationId =
      typeof args.activation === 'string' ? args.activation : args.activation == null ? 'linear' : null;
    this.activationFn = resolveSerializable<Activation>(where, 'activation', args.activation ?? 'linear', 'activation');
    const weightOptions = resolveWeightOptions(where, args);
    this.kernelInitializer = weightOptions.kernelInitializer;
    this.biasInitializer = weightOptions.biasInitializer;
    this.kernelRegularizer = weightOptions.kernelRegularizer;
    this.biasRegularizer = resolveSerializable<Regularizer>(
      where,
      'biasRegularizer',
      args.biasRegularizer,
      'regularizer',
    );
    this.kernelConstraint = resolveSerializable<Constraint>(
      where,
      'kernelConstraint',
      args.kernelConstraint,
      'constraint',
    );
    this.biasConstraint = resolveSerializable<Constraint>(where, 'biasConstraint', args.biasConstraint, 'constraint');
    const activityRegularizer = resolveSerializable<Regularizer>(
      where,
      'activityRegularizer',
      args.activityRegularizer,
      'regularizer',
    );
    if (activityRegularizer)
      (this as unknown as { activityRegularizer: Regularizer }).activityRegularizer = activityRegularizer;
  }

  private channelAxis(rank: number): number {
    return this.dataFormat === 'channelsLast' ? rank - 1 : 1;
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const where = (this.constructor as unknown as { className: string }).className;
    if (shape.length !== this.rank + 2)
      invalid(where, 'input shape', shape, `rank ${this.rank + 2} (batch, ${this.rank} spatial axes and channels)`);
    const inChannels = shape[this.channelAxis(shape.length)];
    if (inChannels == null) invalid(where, 'input shape', shape, 'a known channel size');
    const cin = inChannels as number;
    if (cin % this.groups !== 0) invalid(where, 'groups', this.groups, `a divisor of the input channels (${cin})`);
    this.checkKernelFits(where, shape);
    const taps = this.kernelSize.reduce((a, b) => a * b, 1);
    const n = this.numRings;
    const shapeTheta = this.transposed ? [cin, this.filters / this.groups, n] : [this.filters, cin / this.groups, n];
    if (!this.kernelInitializer) {
      this.kernelInitializer =
        this.initScheme === 'reference'
          ? new GMRReferenceUniform({ fan: (this.transposed ? this.filters / this.groups : cin / this.groups) * taps })
          : new GMRKaimingNormal({ fan: (this.transposed ? cin : this.filters) * taps });
    }
    const addWeight = (this as unknown as { addWeight: (...a: unknown[]) => LayerVariable }).addWeight.bind(this);
    this.kernelVar = addWeight(
      'kernel',
      shapeTheta,
      'float32',
      this.kernelInitializer,
      this.kernelRegularizer,
      true,
      this.kernelConstraint,
    );
    if (this.gaussianMixtureRing) {
      const init = initialLogSigmas(this.kernelSize[0], n, this.sigmaScale);
      this.logSigmasVar = addWeight(
        'log_sigmas',
        [n],
        'float32',
        { apply: () => tf.tensor1d(init) },
        undefined,
        this.trainGaussianSigma,
      );
    }
    if (this.useBias) {
      const fanIn = shapeTheta[1] * n;
      const biasInit = this.biasInitializer ?? new GMRReferenceUniform({ fan: fanIn });
      this.biasInitializer = biasInit;
      this.biasVar = addWeight(
        'bias',
        [this.filters],
        'float32',
        biasInit,
        this.biasRegularizer,
        true,
        this.biasConstraint,
      );
    }
    const masks = this.geometry.masks;
    if (this.trainIndexMat) {
      this.indexMatVar = addWeight(
        'index_mat',
        [n, taps],
        'float32',
        { apply: () => tf.tensor2d(masks, [n, taps]) },
        undefined,
        true,
      );
    }
    this.fixedIndexMat = markSymmetricRings(tf.keep(tf.tensor2d(masks, [n, taps])));
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const spatial = this.dataFormat === 'channelsLast' ? shape.slice(1, this.rank + 1) : shape.slice(2);
    const out = spatial.map((len, i) => (len == null ? null : this.axisGeometry(i, len).outLength));
    return this.dataFormat === 'channelsLast' ? [shape[0], ...out, this.filters] : [shape[0], this.filters, ...out];
  }

  /**
   * A kernel larger than its padded input gives no output; refused here, when the input size is first known,
   * because the basis of a large kernel (rings × k² taps) takes long to make and the op would only refuse it then.
   */
  private checkKernelFits(where: string, shape: (number | null)[]): void {
    if (this.transposed) return;
    const spatial = this.dataFormat === 'channelsLast' ? shape.slice(1, this.rank + 1) : shape.slice(2);
    const out = this.computeOutputShape(shape);
    const outSpatial = this.dataFormat === 'channelsLast' ? out.slice(1, this.rank + 1) : out.slice(2);
    outSpatial.forEach((o, i) => {
      const len = spatial[i];
      if (o == null || len == null || o >= 1) return;
      const [a, b] = this.padding === 'same' ? [0, 0] : specPads(this.padding, i);
      const d = this.dilationRate[i];
      const most = Math.floor((len + a + b - 1) / d) + 1;
      invalid(
        where,
        'kernelSize',
        this.kernelSize,
        `at most ${most} on spatial axis ${i} for an input of size ${len} with padding ${JSON.stringify(this.padding)} and dilation ${d} (the output would be ${o})`,
      );
    });
  }

  /** Geometry of spatial axis i for an input of length len (core's one computeGMRConvInfo, per axis). */
  private axisGeometry(i: number, len: number) {
    const p = this.padding;
    const padding = p === 'same' || p === 'valid' ? p : specPads(p, i);
    return gmrConvAxis(
      len,
      this.kernelSize[i],
      this.strides[i],
      this.dilationRate[i],
      padding,
      this.transposed,
      this.outputPadding[i],
    );
  }

  /** Ring masks in use: the trainable ones, or the fixed geometry. */
  indexMat(): tf.Tensor2D {
    if (!this.indexMatVar && (!this.fixedIndexMat || this.fixedIndexMat.isDisposed)) {
      const taps = this.kernelSize.reduce((a, b) => a * b, 1);
      this.fixedIndexMat = markSymmetricRings(tf.keep(tf.tensor2d(this.geometry.masks, [this.numRings, taps])));
    }
    return (this.indexMatVar ? this.indexMatVar.read() : this.fixedIndexMat) as tf.Tensor2D;
  }

  /** G = P·M (or M for binary rings), shape [numRings, prod(kernelSize)]. */
  smoothedBasis(): tf.Tensor2D {
    return smoothedBasis(this.indexMat(), this.logSigmasVar?.read() ?? null, this.sigmaClip());
  }

  /** The dense kernel θ·G in tfjs filter layout [...kernelSize, in/groups, filters] (transposed: [...k, filters/groups, in]). */
  synthesizedKernel(): tf.Tensor {
    this.assertBuilt('synthesizedKernel');
    return tf.tidy(() => synthesizeKernel(this.kernelVar!.read(), this.smoothedBasis(), this.kernelSize));
  }

  /** The reference's clip_index_mat: keep trainable masks within default ± eps (call after each optimizer step). */
  clipIndexMat(eps = 0.1): void {
    if (!this.indexMatVar) return;
    const clipped = tf.tidy(() => {
      const def = this.fixedIndexMat!;
      return tf.minimum(tf.maximum(this.indexMatVar!.read(), tf.sub(def, eps)), tf.add(def, eps));
    });
    this.indexMatVar.write(clipped);
    clipped.dispose();
  }

  protected sigmaClip() {
    return { clipSigma: this.clipSigma, sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax };
  }

  protected assertBuilt(what: string) {
    if (!this.kernelVar)
      throw new GMRValueError(
        `${this.name}: ${what}() needs a built layer (call it on an input or build(inputShape) first).`,
      );
  }

  /** Inference basis cache key: the identity of the data behind every variable it depends on. */
  private cacheKey(): string {
    // Variable.assign (optimizers, setWeights, loading) swaps the variable's dataId object: key on its identity.
    return [this.logSigmasVar, this.indexMatVar].map(variableToken).join('|');
  }

  private cachedBasis(): tf.Tensor2D {
    const key = this.cacheKey();
    if (!this.cache || this.cache.key !== key || this.cache.basis.isDisposed) {
      this.cache?.basis.dispose();
      const basis = tf.keep(this.smoothedBasis());
      // G = P·M keeps the symmetry of fixed geometry masks.
      if (!this.indexMatVar) markSymmetricRings(basis);
      this.cache = { key, basis };
    }
    return this.cache.basis;
  }

  /** The op options this layer's settings stand for. */
  protected opOptions(): GMRConvOptions {
    return {
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      paddingMode: this.paddingMode,
      dilations: this.dilationRate,
      groups: this.groups,
      dataFormat: this.dataFormat,
      clipSigma: this.clipSigma,
      sigmaMin: this.sigmaMin,
      sigmaMax: this.sigmaMax,
      path: this.path,
      twoStageBasis: this.twoStageBasis,
      trainIndexMat: this.trainIndexMat,
      outputPadding: this.outputPadding,
    };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean; [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const opts = this.opOptions();
      // The cached G = P·M only pays on core's composed kernels: a kernel package's tap-list kernel (native,
      // webgpu) runs the sparse binary rings M with σ several times faster than the dense G (405 vs 57 taps, k=9).
      const opName = this.transposed ? GMR_CONV_2D_TRANSPOSE : [GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D][this.rank - 1]!;
      const useCache = this.inferenceCache && !kwargs?.training && !recordingGradients() && usesComposedKernel(opName);
      const weights = useCache
        ? {
            weight: this.kernelVar!.read(),
            logSigmas: null,
            indexMat: this.cachedBasis(),
            bias: this.biasVar?.read() ?? null,
          }
        : {
            weight: this.kernelVar!.read(),
            logSigmas: this.logSigmasVar?.read() ?? null,
            indexMat: this.indexMat(),
            bias: this.biasVar?.read() ?? null,
          };
      const y = this.transposed ? gmrConvTranspose2d(x, weights, opts) : OPS[this.rank as 1 | 2 | 3](x, weights, opts);
      return this.activationFn ? this.activationFn.apply(y) : y;
    });
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    const r = super.dispose();
    if (r.refCountAfterDispose === 0) this.disposeCaches();
    return r;
  }

  /** Frees the tensors the layer keeps outside its weights (inference cache, fixed masks); dispose() does this too. */
  disposeCaches(): void {
    this.cache?.basis.dispose();
    this.cache = null;
    this.fixedIndexMat?.dispose();
    this.fixedIndexMat = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding as tf.serialization.ConfigDictValue,
      paddingMode: this.paddingMode,
      dilationRate: this.dilationRate,
      dataFormat: this.dataFormat,
      groups: this.groups,
      useBias: this.useBias,
      activation: this.activationId ?? (serializeObject(this.activationFn) as tf.serialization.ConfigDictValue),
      kernelInitializer: serializeObject(this.kernelInitializer),
      biasInitializer: serializeObject(this.biasInitializer),
      kernelRegularizer: serializeObject(this.kernelRegularizer),
      biasRegularizer: serializeObject(this.biasRegularizer),
      activityRegularizer: serializeObject(
        (this as unknown as { activityRegularizer?: Regularizer }).activityRegularizer,
      ),
      kernelConstraint: serializeObject(this.kernelConstraint),
      biasConstraint: serializeObject(this.biasConstraint),
      initScheme: this.initScheme,
      numRings: this.numRings,
      forceCircular: this.forceCircular,
      gaussianMixtureRing: this.gaussianMixtureRing,
      trainGaussianSigma: this.trainGaussianSigma,
      sigmaScale: this.sigmaScale,
      clipSigma: this.clipSigma,
      sigmaMin: this.sigmaMin,
      sigmaMax: this.sigmaMax,
      trainIndexMat: this.trainIndexMat,
      path: this.path,
      twoStageBasis: this.twoStageBasis,
      inferenceCache: this.inferenceCache,
      ...(this.transposed ? { outputPadding: this.outputPadding } : {}),
    };
    return { ...super.getConfig(), ...config };
  }
}

/** Clips every trainable ring mask of a model (the reference's clip_module_index_mat, which it never calls). */
export function clipModelIndexMats(model: { layers: unknown[] }, eps = 0.1): void {
  for (const l of model.layers) if (l instanceof GMRConvBase) l.clipIndexMat(eps);
}
