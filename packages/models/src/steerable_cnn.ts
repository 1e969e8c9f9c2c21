/**
 * The steerable GMR-CNN: a classifier that keeps the orientation (phase) of its features from layer to layer and
 * takes rotation invariants only at the end, built from core's GMRSteerableConv2D (GMR radial profiles × e^{inφ}).
 *
 * Why a second CNN: the paper's GMR-CNN has isotropic kernels only, so every feature map is locally
 * rotation-invariant and no later layer can tell how two features are oriented relative to each other; on upright
 * MNIST it plateaus near 90 % in the main job's budget. Here each conv maps fields of orders 0, 1, 2 to fields of
 * orders 0, 1, 2, so a later layer sees "a stroke at this angle next to a curve at that angle". The network is
 *
 *   [blur] → (steerable conv → field batch norm → gated non-linearity → [2×2 average pool]) × L
 *          → field invariants (order-0 maps, |z|, Re(z·conj z′), Re(z₂·conj z₁²)) → ring pooling → BN → dense
 *
 * Every stage commutes with the 8 rotations and flips of the pixel grid (the convs are odd, 'same'-padded and
 * stride 1, the pools see even sizes: 28 → 14 → 7), so the logits are exactly invariant to them (to float
 * rounding); at other angles invariance is approximate (filters sampled on the grid, bilinear resampling of the
 * test image). The optional input blur is a fixed isotropic Gaussian: it removes the pixel-scale detail that a
 * rotated, resampled digit does not have, which is where most of the 45° error of a grid-sampled network comes
 * from (measured in apps/cli/README.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  FieldBatchNorm,
  FusedBatchNormalization,
  FieldInvariants,
  FieldNonlinearity,
  GMRSteerableConv2D,
  RingPooling2D,
  checkFields,
  gatedFields,
  invalid,
  type FieldInvariantProducts,
  type FieldNonlinearityMode,
  type Fields,
  type SteerablePath,
} from '@gmr-conv/core';
import { BN_EPSILON, BN_MOMENTUM, apply, avgPool, linear } from './building_blocks.js';

export interface SteerableCNNOptions {
  numClasses?: number;
  inChannels?: number;
  /** Output fields [order 0, order 1, order 2] of each conv (default DEFAULT_STEERABLE_FIELDS). */
  fields?: Fields[];
  /** Kernel size of each conv (odd; default [7, 5, 5]). */
  kernelSizes?: number[];
  /** Whether a 2×2 average pool follows each conv (default: every conv but the last). */
  pools?: boolean[];
  /** Input size (default [28, 28]; both sizes must stay even through every pool for exact D4 invariance). */
  inputSize?: [number, number];
  /** Products between fields in the invariant head (default 'paired'). */
  products?: FieldInvariantProducts;
  /** How the invariant maps become the classifier's input: 'rings' (default, keeps radial layout) or 'average'. */
  pooling?: 'rings' | 'average';
  /**
   * Non-linearity of the order-1/2 fields (default 'gate': each field scaled by the sigmoid of an order-0 channel
   * of the same conv; measured better than 'norm-relu' on upright MNIST, see apps/cli/README.md).
   */
  nonlinearity?: FieldNonlinearityMode;
  /** σ in pixels of a fixed Gaussian blur of the input (0 = none; default 0). */
  inputBlur?: number;
  /** GMRSteerableConv2D's computation path (default: the layer's own default). */
  path?: SteerablePath;
  name?: string;
}

/** Fields of the default network: 8/8/8, 16/16/16, 32/16/16 (orders 0/1/2). */
export const DEFAULT_STEERABLE_FIELDS: Fields[] = [
  [8, 8, 8],
  [16, 16, 16],
  [32, 16, 16],
];
export const DEFAULT_STEERABLE_KERNELS = [7, 5, 5];

const WHERE = 'gmrSteerableCNN';

/** A depthwise Gaussian blur as a fixed (non-trainable) depthwise conv: isotropic, so D4-equivariant exactly. */
function gaussianBlur(x: tfl.SymbolicTensor, sigma: number, channels: number): tfl.SymbolicTensor {
  const radius = Math.max(1, Math.ceil(2.5 * sigma));
  const size = 2 * radius + 1;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-0.5 * ((i - radius) / sigma) ** 2));
  const total = g.reduce((a, b) => a + b, 0);
  const values = new Float32Array(size * size * channels);
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++)
      for (let c = 0; c < channels; c++) values[(i * size + j) * channels + c] = (g[i]! * g[j]!) / (total * total);
  const kernel = tf.tensor4d(values, [size, size, channels, 1]);
  const layer = tfl.layers.depthwiseConv2d({
    name: 'input_blur',
    kernelSize: size,
    padding: 'same',
    useBias: false,
    trainable: false,
    weights: [kernel],
  });
  const y = apply(layer, x);
  kernel.dispose();
  return y;
}

/**
 * The steerable GMR-CNN (see the file header for the network). Guarantee: its logits are exactly invariant (to float
 * rounding; tested ≤ 1e-5 relative) to the 8 D4 rotations and flips of a square input when the kernel sizes are odd
 * and every pool sees an even size (28 → 14 → 7; an input size that would pool an odd size is refused); at other
 * angles approximate. At
 * inference each steerable conv keeps its dense kernel between calls (its inference cache, refreshed whenever a
 * weight changes). Bad options throw GMRValueError naming the option and the value.
 */
export function gmrSteerableCNN(o: SteerableCNNOptions = {}): tfl.LayersModel {
  const fields = o.fields ?? DEFAULT_STEERABLE_FIELDS;
  if (!Array.isArray(fields) || fields.length < 1)
    invalid(WHERE, 'fields', fields, 'a non-empty list of [n0, n1, n2] field counts, one per conv');
  fields.forEach((f, i) => checkFields(WHERE, `fields[${i}]`, f));
  const ks =
    o.kernelSizes ??
    (fields.length === DEFAULT_STEERABLE_KERNELS.length ? DEFAULT_STEERABLE_KERNELS : fields.map(() => 5));
  if (!Array.isArray(ks) || ks.length !== fields.length)
    invalid(WHERE, 'kernelSizes', ks, `one odd size per conv (${fields.length})`);
  ks.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 3 || k % 2 === 0) invalid(WHERE, `kernelSizes[${i}]`, k, 'an odd integer ≥ 3');
  });
  const pools = o.pools ?? fields.map((_, i) => i < fields.length - 1);
  if (!Array.isArray(pools) || pools.length !== fields.length || pools.some((p) => typeof p !== 'boolean'))
    invalid(WHERE, 'pools', pools, `one boolean per conv (${fields.length})`);
  const numClasses = o.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 2) invalid(WHERE, 'numClasses', numClasses, 'an integer ≥ 2');
  const inChannels = o.inChannels ?? 1;
  if (!Number.isInteger(inChannels) || inChannels < 1) invalid(WHERE, 'inChannels', inChannels, 'a positive integer');
  const size = o.inputSize ?? [28, 28];
  let [h, w] = size;
  pools.forEach((p, i) => {
    if (!p) return;
    if (h % 2 !== 0 || w % 2 !== 0)
      invalid(
        WHERE,
        'inputSize',
        size,
        `sizes that stay even through every pool (pool after conv ${i + 1} sees ${h}×${w})`,
      );
    h /= 2;
    w /= 2;
  });
  const pooling = o.pooling ?? 'rings';
  if (pooling !== 'rings' && pooling !== 'average') invalid(WHERE, 'pooling', pooling, "'rings' or 'average'");
  const blur = o.inputBlur ?? 0;
  if (typeof blur !== 'number' || !(blur >= 0) || !Number.isFinite(blur))
    invalid(WHERE, 'inputBlur', blur, 'a finite σ ≥ 0 in pixels (0 = no blur)');
  const products = o.products ?? 'paired';
  const mode = o.nonlinearity ?? 'gate';
  if (mode !== 'norm-relu' && mode !== 'gate') invalid(WHERE, 'nonlinearity', mode, "'norm-relu' or 'gate'");
  if (products !== 'paired' && products !== 'none') invalid(WHERE, 'products', products, "'paired' or 'none'");

  const input = tfl.input({ shape: [size[0], size[1], inChannels], name: 'input' });
  let x: tfl.SymbolicTensor = blur > 0 ? gaussianBlur(input, blur, inChannels) : input;
  let inputFields: Fields = [inChannels, 0, 0];
  fields.forEach((f, i) => {
    const n = i + 1;
    // a gate non-linearity takes one extra order-0 channel per order-1/2 field from the conv
    const convFields = mode === 'gate' ? gatedFields(f) : f;
    x = apply(
      new GMRSteerableConv2D({
        name: `conv${n}`,
        fields: convFields,
        inputFields,
        kernelSize: ks[i]!,
        padding: 'same',
        useBias: false,
        ...(o.path ? { path: o.path } : {}),
      }),
      x,
    );
    x = apply(
      new FieldBatchNorm({ name: `bn${n}`, fields: convFields, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }),
      x,
    );
    x = apply(new FieldNonlinearity({ name: `act${n}`, fields: f, mode }), x);
    if (pools[i]) x = avgPool(x, 2, `pool${n}`);
    inputFields = f;
  });
  x = apply(new FieldInvariants({ name: 'invariants', fields: inputFields, products }), x);
  x = apply(
    pooling === 'rings'
      ? new RingPooling2D({ name: 'ringpool' })
      : tfl.layers.globalAveragePooling2d({ name: 'avgpool' }),
    x,
  );
  x = apply(new FusedBatchNormalization({ name: 'head_bn', axis: -1, epsilon: BN_EPSILON, momentum: BN_MOMENTUM }), x);
  const features = x.shape[1] as number;
  const logits = linear(x, 'fc', numClasses, features);
  return tfl.model({ inputs: input, outputs: logits, name: o.name ?? 'gmr_steerable_cnn' });
}
