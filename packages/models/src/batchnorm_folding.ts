/**
 * Inference with batch norm folded into the convolution before it. In inference a batch norm is a per-channel
 * affine map, y = s·(z − μ) + β with s = γ / √(σ² + ε); when z is a convolution's output that map moves into the
 * convolution: each output channel's weights times s, and its bias (b − μ)·s + β. For a GMR layer the weights are
 * the mixing weights θ [Cout, Cin/groups, n] (every output channel is linear in its own θ row, whatever the rings
 * and σ), for a plain Conv2D the kernel [kh, kw, Cin, Cout]. One pass over the activations and one kernel per
 * batch-norm layer go away (issue 17).
 *
 * The folded weights are cached like a GMR layer's inference cache: keyed by the identity of the data behind every
 * variable they come from (an optimiser step, setWeights, loading or a BN statistics update swaps that data), so
 * they are recomputed exactly when a weight or a statistic changed.
 *
 * A pair is folded only when the fold is exact: a 2D GMR layer (GMRConv2D) or a tfjs Conv2D, channels-last, with
 * a linear activation, whose output goes to one batch-norm layer over the last axis and nowhere else. When that
 * batch norm's output goes only to a plain ReLU layer, the ReLU is fused too: the convolution's `activation`
 * (gmrConv2d's and tf.fused.conv2d's), which the native kernels apply in their output pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GMRConv2D, gmrConv2d, invalid, variableToken, type GMRConvOptions } from '@gmr-conv/core';
import { mixingWeights } from '@gmr-conv/core/kernel';
import { directPlan, followingRelu, runPlan, type Layer } from './layer_graph.js';

type LayerVariable = Layer['weights'][number];

interface Pair {
  conv: Layer;
  bn: Layer;
  kind: 'gmr' | 'plain';
  /** The ReLU layer that takes the batch norm's output and nothing else, fused into the convolution's output pass. */
  relu: Layer | null;
}

/** A layer's weight by its own name ('kernel', 'gamma', …), or undefined. */
function weight(layer: Layer, name: string): LayerVariable | undefined {
  return layer.weights.find((w) => w.originalName === `${layer.name}/${name}` || w.originalName.endsWith(`/${name}`));
}

function foldable(conv: Layer): 'gmr' | 'plain' | null {
  const c = conv.getConfig();
  if (c.activation != null && c.activation !== 'linear') return null;
  if (c.dataFormat != null && c.dataFormat !== 'channelsLast') return null;
  // The class itself, not a subclass (the harmonic and steerable layers compute something else from θ).
  if (conv instanceof GMRConv2D && conv.constructor === GMRConv2D) return 'gmr';
  if (conv.getClassName() === 'Conv2D') return 'plain';
  return null;
}

/**
 * A GMR layer's own op options (strides, padding mode, rings, σ clipping, path…): protected, read here so that the
 * folded call cannot drift from the layer's.
 */
function gmrOptions(layer: GMRConv2D): GMRConvOptions {
  return (layer as unknown as { opOptions(): GMRConvOptions }).opOptions();
}

/** The (conv, batch norm) pairs of `model` that fold exactly. */
function findPairs(model: tfl.LayersModel): Pair[] {
  const pairs: Pair[] = [];
  for (const bn of model.layers) {
    if (bn.getClassName() !== 'BatchNormalization' || bn.inboundNodes.length !== 1) continue;
    const axis = bn.getConfig().axis as number;
    const inbound = bn.inboundNodes[0]!.inboundLayers;
    if (inbound.length !== 1) continue;
    const conv = inbound[0]!;
    const rank = conv.outboundNodes[0]?.outputTensors[0]?.shape.length;
    if (axis !== -1 && axis !== (rank ?? 0) - 1) continue;
    // The conv's output must feed this batch norm only (else the unnormalised output is needed too).
    if (conv.inboundNodes.length !== 1 || conv.outboundNodes.length !== 1) continue;
    const kind = foldable(conv);
    if (kind) pairs.push({ conv, bn, kind, relu: followingRelu(model, bn) });
  }
  return pairs;
}

interface Folded {
  key: string;
  kernel: tf.Tensor;
  bias: tf.Tensor1D;
}

export class BatchNormFolding {
  /** The folded pairs, as "conv→bn" layer names. */
  readonly folded: string[];
  private readonly pairs: Pair[];
  private readonly cache = new Map<Layer, Folded>();
  private readonly plan: Layer[] | null;
  /** For the direct run: each folded conv's pair, and the layers a fold makes pass their input on (BN, ReLU). */
  private readonly pairOfConv: Map<Layer, Pair>;
  private readonly passesOn: Set<Layer>;

  constructor(readonly model: tfl.LayersModel) {
    if (!(model instanceof tfl.LayersModel)) invalid('BatchNormFolding', 'model', model, 'a tf.LayersModel');
    this.pairs = findPairs(model);
    this.plan = directPlan(model);
    this.pairOfConv = new Map(this.pairs.map((p) => [p.conv, p]));
    this.passesOn = new Set(this.pairs.flatMap((p) => (p.relu ? [p.bn, p.relu] : [p.bn])));
    this.folded = this.pairs.map((p) =>
      [p.conv, p.bn, p.relu]
        .filter((l) => l != null)
        .map((l) => l.name)
        .join('→'),
    );
  }

  /** The variables a pair's folded weights come from, in a fixed order (the cache key). */
  private sources(p: Pair): (LayerVariable | undefined)[] {
    return [
      weight(p.conv, 'kernel'),
      weight(p.conv, 'bias'),
      weight(p.bn, 'gamma'),
      weight(p.bn, 'beta'),
      weight(p.bn, 'moving_mean'),
      weight(p.bn, 'moving_variance'),
      // GMR: σ too, since the folded kernel is the mixing operand Φ = θ·P(σ) (see foldedWeights)
      p.kind === 'gmr' ? weight(p.conv, 'log_sigmas') : undefined,
    ];
  }

  /** The folded kernel and bias of a pair, from the cache when no source changed. */
  private foldedWeights(p: Pair): Folded {
    const src = this.sources(p);
    const key = src.map(variableToken).join('|');
    const hit = this.cache.get(p.conv);
    if (hit && hit.key === key && !hit.kernel.isDisposed) return hit;
    if (hit) tf.dispose([hit.kernel, hit.bias]);
    const [kernel, bias, gamma, beta, mean, variance, logSigmas] = src.map((v) => v?.read());
    const eps = p.bn.getConfig().epsilon as number;
    const folded = tf.tidy(() => {
      const s = tf.div(gamma ?? tf.scalar(1), tf.sqrt(tf.add(variance!, eps)));
      // GMR θ [Cout, Cin/groups, n]: output channels on the first axis; a plain kernel [kh, kw, Cin, Cout]: the last.
      // For GMR the cached kernel is Φ = (θ·s)·P(σ), the operand every GMR kernel mixes the binary ring sums with, so
      // a folded call passes no σ and no kernel rebuilds P (about twenty small kernels per layer and call).
      const k =
        p.kind === 'gmr'
          ? mixingWeights(tf.mul(kernel!, tf.reshape(s, [-1, 1, 1])), logSigmas, gmrOptions(p.conv as GMRConv2D))
          : tf.mul(kernel!, s);
      const b = tf.add(tf.mul(tf.sub(bias ?? tf.scalar(0), mean!), s), beta ?? tf.scalar(0));
      return { kernel: tf.keep(k), bias: tf.keep(b as tf.Tensor1D) };
    });
    const f = { key, ...folded };
    this.cache.set(p.conv, f);
    return f;
  }

  private foldedCall(p: Pair, x: tf.Tensor): tf.Tensor {
    const f = this.foldedWeights(p);
    if (p.kind === 'gmr') {
      const layer = p.conv as GMRConv2D;
      // f.kernel is Φ, σ already applied: binary rings from here (logSigmas null)
      return gmrConv2d(
        x as tf.Tensor4D,
        { weight: f.kernel as tf.Tensor3D, logSigmas: null, indexMat: layer.indexMat(), bias: f.bias },
        { ...gmrOptions(layer), activation: p.relu ? 'relu' : 'linear' },
      );
    }
    const c = p.conv.getConfig() as {
      strides: [number, number];
      padding: 'same' | 'valid';
      dilationRate: [number, number];
    };
    return tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: f.kernel as tf.Tensor4D,
      strides: c.strides,
      pad: c.padding,
      dilations: c.dilationRate,
      bias: f.bias,
      activation: p.relu ? 'relu' : 'linear',
    });
  }

  /**
   * model.predict(x) with every folded pair computed as one convolution with the folded weights (the batch norm, and
   * a folded ReLU, pass their input through). The same numbers as the model in inference, to float rounding. Like
   * model.predict, x runs in batches of `batchSize` (32) whose outputs are concatenated.
   */
  predict(x: tf.Tensor, batchSize = 32): tf.Tensor {
    if (!this.plan) return this.predictPatched(x, batchSize);
    const plan = this.plan;
    const n = x.shape[0]!;
    if (n <= batchSize) return tf.tidy(() => this.runDirect(plan, x));
    return tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < n; s += batchSize) {
        const size = Math.min(batchSize, n - s);
        parts.push(this.runDirect(plan, tf.slice(x, s, size)));
      }
      return tf.concat(parts, 0);
    });
  }

  /**
   * The layers' own calls in order, without tfjs-layers' executor (its per-layer checks, name scopes and feed dicts
   * were a fifth of a GMR-CNN inference batch on native): a folded convolution's call computes the pair, its batch
   * norm and ReLU hand their input on. Call inside tf.tidy.
   */
  private runDirect(plan: Layer[], x: tf.Tensor): tf.Tensor {
    return runPlan(this.model, plan, x, (layer, ins) => {
      const pair = this.pairOfConv.get(layer);
      if (pair) return this.foldedCall(pair, ins[0]!);
      if (this.passesOn.has(layer)) return ins[0]!;
      return layer.call(ins.length === 1 ? ins[0]! : ins, {}) as tf.Tensor;
    });
  }

  /** predict through model.predict, with the folded layers' calls replaced for this call only. */
  private predictPatched(x: tf.Tensor, batchSize: number): tf.Tensor {
    type Call = Layer['call'];
    const patched: Layer[] = [];
    try {
      for (const p of this.pairs) {
        const conv = p.conv,
          bn = p.bn;
        // Own properties over the class's call, for this call only (deleted below, so the class's method is back).
        patched.push(conv, bn);
        conv.call = ((inputs: tf.Tensor | tf.Tensor[]) =>
          this.foldedCall(p, Array.isArray(inputs) ? inputs[0]! : inputs)) as Call;
        // A new tensor over the same data (no copy): the model's executor disposes intermediate tensors by identity.
        const passThrough = ((inputs: tf.Tensor | tf.Tensor[]) =>
          tf.clone(Array.isArray(inputs) ? inputs[0]! : inputs)) as Call;
        bn.call = passThrough;
        if (p.relu) {
          patched.push(p.relu);
          p.relu.call = passThrough;
        }
      }
      return this.model.predict(x, { batchSize }) as tf.Tensor;
    } finally {
      for (const layer of patched) delete (layer as { call?: Call }).call;
    }
  }

  /** Frees the cached folded weights. */
  dispose(): void {
    for (const f of this.cache.values()) tf.dispose([f.kernel, f.bias]);
    this.cache.clear();
  }
}

/** Inference of `model` with its conv → batch-norm pairs folded (see BatchNormFolding). */
export function foldBatchNorm(model: tfl.LayersModel): BatchNormFolding {
  return new BatchNormFolding(model);
}
