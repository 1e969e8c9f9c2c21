/**
 * GMRSteerableConv2D: a GMR convolution between feature fields of rotation order 0, 1 and 2 (issue 11).
 *
 * A GMR kernel is isotropic, so a GMR network only ever compares radial profiles and cannot relate the orientations
 * of two features. Here each filter is a GMR radial profile (the same rings, Gaussian smoothing and learned log σ
 * as GMRConv2D) times a circular harmonic e^{inφ}, n = m_out − m_in, mapping order-m_in fields to order-m_out
 * fields (Harmonic Networks' filters, Worrall et al. 2017, with GMR's radial profiles). One real weight per
 * (output field, input field, ring): real, so mirrors are respected as well as rotations.
 *
 * Guarantee: for odd kernels, stride 1 and 'same' padding, layer(g·x) = g·layer(x) exactly (to float rounding)
 * for the 8 elements g of D4 (90° rotations and flips about the image centre), with g acting on fields as
 * `applyD4ToFields` does (order m turns by i^{±m}, mirrors conjugate). Through average pooling this holds when
 * every pooled size is even. At other angles it is approximate (the filters are sampled on the pixel grid).
 *
 * Computation: the binary-ring form (steerable_basis.ts): mixing weights over the angle-weighted ring masks, the
 * Gaussian smoothing folded into the weights. path 'rings' passes them to one `gmrConv2d` call with `logSigmas: null`,
 * so every backend with GMR kernels (cpu/wasm composed, native, webgpu) runs it with gradients through θ and log σ;
 * path 'dense' synthesises the dense kernel [k, k, Cin, Cout] from the same weights and runs tf.conv2d; path 'auto'
 * (default) takes the one the backend registered (steerable_path.ts: 'rings' on native, 'dense' elsewhere). Each
 * (output, input) channel pair links through one angular component, so W is mostly zeros (~3 of 11 mask rows per pair
 * for k = 5): where the backend registers the GMRSteerableConv kernels (field_kernel_names.ts), 'rings' runs them with
 * the plan of W's non-zero blocks (steerableBlockPlan), each output block one product over its linked input blocks'
 * rows only; elsewhere, and below STEERABLE_BLOCK_MIN_CIN input channels, the one gmrConv2d call over the whole W.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import type { RingGeometry } from '../rings/ring_masks.js';
import { gaussianMatrix, initialLogSigmas, initialSigma, REFERENCE_SQRT_2PI } from '../mixture/gaussian_mixture.js';
import { gmrConv2d } from '../ops/gmr_conv_ops.js';
import { gmrConvAxis } from '../kernel/conv_info.js';
import { GMRValueError, invalid, toTuple } from '../utils/errors.js';
import { bool, recordingGradients } from '../layers/layer_utils.js';
import { resolveRingOptions, type GMRRingArgs } from '../layers/ring_options.js';
import { variableToken } from '../utils/data_token.js';
import { resolveWeightOptions, serializeObject, type Initializer, type Regularizer } from '../layers/identifiers.js';
import { checkFields, type Fields, fieldLayout } from './fields.js';
import { steerablePathFor } from './steerable_path.js';
import {
  STEERABLE_CONV,
  STEERABLE_CONV_BACKPROP_FILTER,
  STEERABLE_CONV_BACKPROP_INPUT,
  type SteerableConvAttrs,
} from '../kernel/field_kernel_names.js';
import {
  mixingWeights,
  steerableBlockPlan,
  steerableBasis,
  type SteerableBasis,
  steerableDenseKernel,
  steerableLinks,
  steerableTables,
  type SteerableTables,
} from './steerable_basis.js';

type LayerVariable = { read(): tf.Tensor; write(v: tf.Tensor): unknown };

export const STEERABLE_PATHS = ['auto', 'rings', 'dense'] as const;
export type SteerablePath = (typeof STEERABLE_PATHS)[number];

export interface GMRSteerableConv2DArgs extends LayerArgs, GMRRingArgs {
  /** Output fields [n0, n1, n2] (counts of order 0, 1, 2); output channels n0 + 2·n1 + 2·n2. Required. */
  fields: Fields;
  /** Input fields; default [C, 0, 0] (every input channel an order-0 map). Must match the input channel count. */
  inputFields?: Fields | null;
  /** Odd, at least 3 (a number or [k, k]). */
  kernelSize: number | [number, number];
  /** 'same' (default) or 'valid', tfjs semantics. */
  padding?: 'same' | 'valid';
  strides?: number | [number, number];
  /** Only 'channelsLast'. */
  dataFormat?: 'channelsLast';
  /** A bias on the order-0 outputs only (a bias on a complex field is not equivariant). Default true. */
  useBias?: boolean;
  /** θ [outFields, inFields, numRings]; default: He-like normal scaled by the basis energy (see build). */
  kernelInitializer?: string | Initializer | tf.serialization.ConfigDict;
  biasInitializer?: string | Initializer | tf.serialization.ConfigDict;
  kernelRegularizer?: string | Regularizer | tf.serialization.ConfigDict;
  /**
   * 'dense': the dense kernel [k, k, Cin, Cout] synthesised from the weights, then tf.conv2d; 'rings': one GMR op on
   * the angle-weighted ring masks; 'auto' (default): the path the current backend registered with setSteerablePath
   * (steerable_path.ts), 'dense' where none did. kernels-cuda registers 'rings' for `native`, where its GMR kernels
   * beat its conv2d on the steerable network (figures in its README); cpu, wasm and webgpu run 'dense'. Both compute
   * the same function (tested).
   */
  path?: SteerablePath;
}

/** Whether the current backend registers the three steerable convolution kernels (field_kernel_names.ts). */
function steerableKernelsHere(): boolean {
  const b = tf.getBackend();
  return [STEERABLE_CONV, STEERABLE_CONV_BACKPROP_INPUT, STEERABLE_CONV_BACKPROP_FILTER].every(
    (name) => tf.getKernel(name, b) != null,
  );
}

// The kernels' gradients (registered once, globally, as tfjs gradients are; they only run where call() chose the
// kernel, i.e. where all three are registered). The tape asks only for what it needs: no dx for a first layer.
tf.registerGradient({
  kernelName: STEERABLE_CONV,
  inputsToSave: ['x', 'weight', 'indexMat'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight, indexMat] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
    return {
      x: () => run(STEERABLE_CONV_BACKPROP_INPUT, { dy: dy as tf.Tensor, weight, indexMat }),
      weight: () => run(STEERABLE_CONV_BACKPROP_FILTER, { x, dy: dy as tf.Tensor, indexMat }),
      indexMat: () => tf.zerosLike(indexMat),
    };
  },
});

/** Per-output-field θ standard deviations: a fixed-scale initializer (not serialised: a default is rebuilt). */
class FieldScaledNormal {
  constructor(private readonly stddevs: number[]) {}
  apply(shape: number[]): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.randomNormal(shape), tf.tensor3d(this.stddevs, [shape[0]!, 1, 1])));
  }
}

/** P(σ⁰) in float64, the Gaussian matrix of gaussian_mixture.ts at the initial σ (for the init scale only). */
function initialGaussian(sigma: number, n: number): number[][] {
  return Array.from({ length: n }, (_, j) =>
    Array.from({ length: n }, (_, i) => Math.exp(-0.5 * ((i - j) / sigma) ** 2) / (sigma * REFERENCE_SQRT_2PI)),
  );
}

/**
 * A steerable GMR convolution between feature fields of rotation order 0, 1 and 2 (`fields` [n0, n1, n2] out,
 * `inputFields` in): each filter is a GMR radial profile (rings, Gaussian smoothing, learned log σ) times a circular
 * harmonic of order m_out − m_in, one real weight per (output field, input field, ring).
 *
 * Guarantee: with an odd kernel, stride 1 and 'same' padding, layer(g·x) = g·layer(x) exactly (to float rounding)
 * for the 8 D4 symmetries g, where g moves the pixels and turns each order-m field by i^{±m} (mirrors conjugate it),
 * as `applyD4ToFields` does. A stride or 'valid' padding keeps it only where the window grid is symmetric, as for
 * GMRConv2D. At other angles it is approximate (45° on a smooth 33×33 input, k = 9: relative L2 error 3.9e-2).
 *
 * Inference cache: outside training and gradient recording, the layer keeps its path's weights (the synthesised dense
 * kernel, or the mixing weights of 'rings') between calls, keyed on the path and the identity of θ's and log σ's data
 * (every assign replaces it, so it is never stale); dispose() frees it.
 */
export class GMRSteerableConv2D extends tfl.layers.Layer {
  static className = 'GMRSteerableConv2D';
  readonly fields: Fields;
  inputFields: Fields | null;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly useBias: boolean;
  readonly numRings: number;
  readonly forceCircular: boolean;
  readonly gaussianMixtureRing: boolean;
  readonly trainGaussianSigma: boolean;
  readonly sigmaScale: number;
  readonly clipSigma: boolean;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly path: SteerablePath;
  readonly geometry: RingGeometry;
  private kernelInitializer?: Initializer;
  private biasInitializer?: Initializer;
  private readonly kernelRegularizer?: Regularizer;
  private readonly userKernelInitializer: boolean;
  private kernelVar: LayerVariable | null = null;
  private logSigmasVar: LayerVariable | null = null;
  private biasVar: LayerVariable | null = null;
  private basis: SteerableBasis | null = null;
  private tensors: { masks: tf.Tensor2D; tables: SteerableTables } | null = null;
  /** The blocks of W the steerable kernels read (steerableBlockPlan), or null where they do not apply. */
  private blockPlan: number[] | null = null;
  /**
   * Inference cache of the path's weights (the dense kernel, or the mixing weights of 'rings'), keyed by the path and
   * the identity of θ's and log σ's data (an assign changes it).
   */
  private kernelCache: { key: string; kernel: tf.Tensor } | null = null;

  constructor(args: GMRSteerableConv2DArgs) {
    super(args);
    const where = 'GMRSteerableConv2D';
    if (args == null || typeof args !== 'object')
      invalid(where, 'args', args, 'an options object with fields and kernelSize');
    this.fields = checkFields(where, 'fields', args.fields);
    this.inputFields = args.inputFields == null ? null : checkFields(where, 'inputFields', args.inputFields);
    const ks = toTuple(where, 'kernelSize', args.kernelSize, 2);
    if (ks[0] !== ks[1] || ks[0] < 3 || ks[0] % 2 === 0)
      invalid(
        where,
        'kernelSize',
        args.kernelSize,
        'an odd size of at least 3, the same on both axes (an even or non-square kernel has no centre tap to rotate about)',
      );
    this.kernelSize = [ks[0], ks[1]];
    const st = toTuple(where, 'strides', args.strides ?? 1, 2);
    this.strides = [st[0], st[1]];
    this.padding = args.padding ?? 'same';
    if (this.padding !== 'same' && this.padding !== 'valid')
      invalid(where, 'padding', args.padding, "'same' or 'valid'");
    if (args.dataFormat != null && args.dataFormat !== 'channelsLast') {
      invalid(
        where,
        'dataFormat',
        args.dataFormat,
        "'channelsLast' (the field layout is defined on the last axis; transpose channelsFirst data first)",
      );
    }
    this.path = args.path ?? 'auto';
    if (!(STEERABLE_PATHS as readonly string[]).includes(this.path))
      invalid(where, 'path', args.path, "'auto', 'rings' or 'dense'");
    this.useBias = bool(where, 'useBias', args.useBias, true);
    if (
      args.numRings != null &&
      (typeof args.numRings !== 'number' || !Number.isInteger(args.numRings) || args.numRings < 1)
    ) {
      invalid(where, 'numRings', args.numRings, 'a positive integer or null (default k//2 + 1)');
    }
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
    this.userKernelInitializer = args.kernelInitializer != null;
    const weightOptions = resolveWeightOptions(where, args);
    this.kernelInitializer = weightOptions.kernelInitializer;
    this.biasInitializer = weightOptions.biasInitializer;
    this.kernelRegularizer = weightOptions.kernelRegularizer;
  }

  /** Output channel count n0 + 2·n1 + 2·n2. */
  get outputChannels(): number {
    return fieldLayout(this.fields).channels;
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const where = 'GMRSteerableConv2D';
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    if (shape.length !== 4)
      invalid(where, 'input shape', shape, 'rank 4 [batch, height, width, channels] (channelsLast)');
    const c = shape[3];
    if (c == null) invalid(where, 'input shape', shape, 'a known channel size');
    if (this.inputFields == null) this.inputFields = [c as number, 0, 0];
    const want = fieldLayout(this.inputFields).channels;
    if (want !== c)
      invalid(
        where,
        'inputFields',
        this.inputFields,
        `a field layout with as many channels as the input (${c}); n0 + 2·n1 + 2·n2 = ${want}`,
      );
    const nIn = this.inputFields.reduce((a, b) => a + b, 0);
    const nOut = this.fields.reduce((a, b) => a + b, 0);
    const n = this.numRings;
    this.basis = steerableBasis(this.inputFields, this.fields, this.kernelSize, this.geometry.masks, n);
    this.blockPlan = steerableBlockPlan(this.basis, this.inputFields, this.fields);
    const addWeight = (this as unknown as { addWeight: (...a: unknown[]) => LayerVariable }).addWeight.bind(this);
    if (!this.kernelInitializer) this.kernelInitializer = new FieldScaledNormal(this.heStddevs());
    this.kernelVar = addWeight(
      'kernel',
      [nOut, nIn, n],
      'float32',
      this.kernelInitializer,
      this.kernelRegularizer,
      true,
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
    if (this.useBias && this.fields[0] > 0) {
      this.biasVar = addWeight(
        'bias',
        [this.fields[0]],
        'float32',
        this.biasInitializer ?? { apply: (s: number[]) => tf.zeros(s) },
        undefined,
        true,
      );
    }
    this.built = true;
  }

  /**
   * θ standard deviation per output field, so that the synthesised kernel has He-like variance: for every output
   * channel, Σ over input channels and taps of Var K = 2 (i.e. ≈ 2 / (taps · input channels) per tap, as He init),
   * with Var K[t] = Var θ · Σ_j (G_j∘ang)(t)² at the initial σ. The angular factors make the basis energy differ
   * between links (cos² averages ½), so the scale is computed from the actual basis rather than from the tap count.
   */
  private heStddevs(): number[] {
    const basis = this.basis!;
    const n = this.numRings;
    const taps = basis.taps;
    const p = this.gaussianMixtureRing
      ? initialGaussian(
          Math.min(Math.max(initialSigma(this.kernelSize[0], n, this.sigmaScale), this.sigmaMin), this.sigmaMax),
          n,
        )
      : null;
    // energy[c] = Σ_j Σ_t (Σ_r P[j, r]·(M_r∘ang_c)(t))²
    const energy = new Array<number>(5).fill(0);
    const rowsOf = (c: number) => Array.from(basis.rowComponent.keys()).filter((row) => basis.rowComponent[row] === c);
    for (let c = 0; c < 5; c++) {
      const rows = rowsOf(c);
      for (let j = 0; j < n; j++) {
        for (let t = 0; t < taps; t++) {
          let v = 0;
          for (const row of rows) {
            const r = basis.rowRing[row]!;
            v += (p ? p[j]![r]! : j === r ? 1 : 0) * basis.masks[row * taps + t]!;
          }
          energy[c] += v * v;
        }
      }
    }
    const nOut = this.fields.reduce((a, b) => a + b, 0);
    const perOut = new Array<number>(nOut).fill(0);
    const outFieldOfRe = new Map<number, number>();
    for (const l of steerableLinks(this.inputFields!, this.fields)) {
      // The Re channel of each output field (its Im channel sees the same energies, cos and sin swapped).
      if (!outFieldOfRe.has(l.outField)) outFieldOfRe.set(l.outField, l.cout);
      if (outFieldOfRe.get(l.outField) === l.cout) perOut[l.outField] += energy[l.component]!;
    }
    return perOut.map((e) => (e > 0 ? Math.sqrt(2 / e) : 0));
  }

  override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const out = [1, 2].map((axis, i) => {
      const len = shape[axis];
      if (len == null) return null;
      // the geometry of every GMR op (the steerable conv runs one, or tf.conv2d with the same padding)
      return gmrConvAxis(len, this.kernelSize[i]!, this.strides[i]!, 1, this.padding).outLength;
    });
    return [shape[0]!, out[0]!, out[1]!, this.outputChannels];
  }

  private fixedTensors() {
    if (!this.tensors || this.tensors.masks.isDisposed) {
      const b = this.basis!;
      const tables = steerableTables(b, this.numRings);
      this.fixedList(tables).forEach((t) => tf.keep(t));
      this.tensors = { masks: tables.masks, tables };
    }
    return this.tensors;
  }

  private fixedList(t: SteerableTables): tf.Tensor[] {
    return [t.outFields, t.inFields, t.rings, t.sign, t.signRowsFirst, t.masks];
  }

  /** P(σ) from the current log σ, or null for binary rings (call inside tf.tidy). */
  private gaussian(): tf.Tensor2D | null {
    const ls = this.logSigmasVar?.read() ?? null;
    return ls
      ? gaussianMatrix(ls, { clipSigma: this.clipSigma, sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax })
      : null;
  }

  private assertBuilt(what: string) {
    if (!this.kernelVar)
      throw new GMRValueError(
        `${this.name}: ${what}() needs a built layer (call it on an input or build(inputShape) first).`,
      );
  }

  /** The op's mixing weights [Cout, Cin, rows] (θ smoothed by P(σ) and placed with signs). */
  mixingWeights(): tf.Tensor3D {
    this.assertBuilt('mixingWeights');
    return tf.tidy(() =>
      mixingWeights(
        this.kernelVar!.read(),
        this.logSigmasVar?.read() ?? null,
        { clipSigma: this.clipSigma, sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax },
        this.fixedTensors().tables,
      ),
    );
  }

  /** The angle-weighted ring masks the op runs on, [rows, k·k]. */
  angularMasks(): tf.Tensor2D {
    this.assertBuilt('angularMasks');
    return this.fixedTensors().masks;
  }

  /** The dense kernel [k, k, Cin, Cout] this layer cross-correlates with. */
  synthesizedKernel(): tf.Tensor4D {
    this.assertBuilt('synthesizedKernel');
    return tf.tidy(() =>
      steerableDenseKernel(this.kernelVar!.read(), this.gaussian(), this.fixedTensors().tables, this.kernelSize),
    );
  }

  /**
   * The path's weights for inference (dense kernel or mixing weights): built once and kept while θ and log σ are
   * unchanged (an optimizer step, setWeights or a load assigns new data and so a new key). Building them is ~10–20
   * kernels; an evaluation over thousands of batches would otherwise rebuild the same weights for each.
   */
  private inferenceWeights<T extends tf.Tensor>(path: 'rings' | 'dense'): T {
    const key = [path, ...[this.kernelVar, this.logSigmasVar].map(variableToken)].join('|');
    if (!this.kernelCache || this.kernelCache.key !== key || this.kernelCache.kernel.isDisposed) {
      this.kernelCache?.kernel.dispose();
      this.kernelCache = { key, kernel: tf.keep(path === 'dense' ? this.synthesizedKernel() : this.mixingWeights()) };
    }
    return this.kernelCache.kernel as T;
  }

  /** Bias over all output channels (zeros after the order-0 block), or null. */
  private fullBias(): tf.Tensor | null {
    if (!this.biasVar) return null;
    const extra = this.outputChannels - this.fields[0];
    const b = this.biasVar.read();
    return extra > 0 ? tf.pad(b, [[0, extra]]) : b;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean; [k: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (x.rank !== 4 || x.shape[3] !== this.basis!.cin) {
        invalid(
          'GMRSteerableConv2D',
          'input',
          x,
          `a [batch, height, width, ${this.basis!.cin}] tensor (inputFields [${this.inputFields!.join(', ')}])`,
        );
      }
      const bias = this.fullBias();
      const path = this.path === 'auto' ? steerablePathFor(tf.getBackend()) : this.path;
      const cached = !kwargs?.training && !recordingGradients();
      if (path === 'dense') {
        const y = tf.conv2d(
          x as tf.Tensor4D,
          cached ? this.inferenceWeights<tf.Tensor4D>('dense') : this.synthesizedKernel(),
          this.strides,
          this.padding,
        );
        return bias ? tf.add(y, bias) : y;
      }
      const weight = cached ? this.inferenceWeights<tf.Tensor3D>('rings') : this.mixingWeights();
      if (this.blockPlan && x.dtype === 'float32' && steerableKernelsHere()) {
        // The backend's steerable kernels: the same convolution reading only the non-zero blocks of W.
        const attrs: SteerableConvAttrs = {
          kernelSize: this.kernelSize,
          strides: this.strides,
          padding: this.padding,
          cout: this.outputChannels,
          plan: this.blockPlan,
          inputShape: x.shape as [number, number, number, number],
        };
        const y = tf
          .engine()
          .runKernel(
            STEERABLE_CONV,
            { x, weight, indexMat: this.fixedTensors().masks },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        return bias ? tf.add(y, bias) : y;
      }
      return gmrConv2d(
        x,
        { weight, logSigmas: null, indexMat: this.fixedTensors().masks, bias },
        {
          kernelSize: this.kernelSize,
          strides: this.strides,
          padding: this.padding,
          path: 'two-stage',
          twoStageBasis: 'binary',
        },
      );
    });
  }

  override dispose(): ReturnType<tfl.layers.Layer['dispose']> {
    const r = super.dispose();
    if (r.refCountAfterDispose === 0) this.disposeCaches();
    return r;
  }

  /** Frees the fixed mask and index tensors (rebuilt on the next call); dispose() does this too. */
  disposeCaches(): void {
    if (this.tensors) tf.dispose(this.fixedList(this.tensors.tables));
    this.tensors = null;
    this.kernelCache?.kernel.dispose();
    this.kernelCache = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      fields: this.fields,
      inputFields: this.inputFields,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: 'channelsLast',
      useBias: this.useBias,
      kernelInitializer: this.userKernelInitializer ? serializeObject(this.kernelInitializer) : null,
      biasInitializer: serializeObject(
        this.biasInitializer && 'getClassName' in this.biasInitializer ? this.biasInitializer : null,
      ),
      kernelRegularizer: serializeObject(this.kernelRegularizer),
      numRings: this.numRings,
      forceCircular: this.forceCircular,
      gaussianMixtureRing: this.gaussianMixtureRing,
      trainGaussianSigma: this.trainGaussianSigma,
      sigmaScale: this.sigmaScale,
      clipSigma: this.clipSigma,
      sigmaMin: this.sigmaMin,
      sigmaMax: this.sigmaMax,
      path: this.path,
    };
  }
}

tf.serialization.registerClass(GMRSteerableConv2D);

/** Factory in the style of tf.layers.conv2d. */
export const gmrSteerableConv2d = (args: GMRSteerableConv2DArgs) => new GMRSteerableConv2D(args);
