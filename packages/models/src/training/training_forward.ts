/**
 * TrainingForward: model.apply(x, {training: true}) for a training step, computed with fewer kernels and less
 * JavaScript. Two things change, neither the numbers:
 * - each batch norm (core's FusedBatchNormalization, which every builder here uses) whose output goes to a plain ReLU
 *   layer and nowhere else runs with that ReLU as one kernel each way (trainingCallWithRelu): in a small CNN the ReLU's
 *   own passes over the activations, forward and gradient, cost about a tenth of a step on native;
 * - the layers' own calls run in order without tfjs-layers' executor (its per-layer checks, scopes and clones), as
 *   BatchNormFolding does in inference.
 * Where either does not apply (a model with shared layers or several inputs or outputs, a backend without the batch
 * norm kernels) it is tfjs-layers' own call.
 *
 *   const forward = new TrainingForward(model);
 *   const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, forward.apply(x)), vars);
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization, invalid } from '@gmr-conv/core';
import { directPlan, followingRelu, runPlan, type Layer } from '../layer_graph.js';

const TRAINING = { training: true };

export class TrainingForward {
  private readonly plan: Layer[] | null;
  /** Each fusable batch norm's ReLU layer, and those ReLU layers (they pass the fused output on). */
  private readonly reluOf = new Map<Layer, Layer>();
  private readonly fusedRelus = new Set<Layer>();

  constructor(readonly model: tfl.LayersModel) {
    if (!(model instanceof tfl.LayersModel)) invalid('TrainingForward', 'model', model, 'a tf.LayersModel');
    this.plan = directPlan(model);
    if (!this.plan) return;
    for (const layer of this.plan) {
      if (!(layer instanceof FusedBatchNormalization)) continue;
      const relu = followingRelu(model, layer);
      if (!relu) continue;
      this.reluOf.set(layer, relu);
      this.fusedRelus.add(relu);
    }
  }

  /** The batch norm → ReLU pairs that run as one kernel (where the backend has the kernels), as "bn→relu" names. */
  get fused(): string[] {
    return [...this.reluOf].map(([bn, relu]) => `${bn.name}→${relu.name}`);
  }

  /** The model's output for x in training mode (batch statistics, moving averages updated), as model.apply(x, {training: true}). */
  apply(x: tf.Tensor): tf.Tensor {
    if (!this.plan) return this.model.apply(x, TRAINING) as tf.Tensor;
    // Outputs of batch norms whose ReLU was applied with them: the ReLU layer hands them on.
    const rectified = new Set<tf.Tensor>();
    return runPlan(this.model, this.plan, x, (layer, ins) => {
      const fused = this.reluOf.has(layer) ? (layer as FusedBatchNormalization).trainingCallWithRelu(ins[0]!) : null;
      if (fused) {
        rectified.add(fused);
        return fused;
      }
      if (this.fusedRelus.has(layer) && rectified.has(ins[0]!)) return ins[0]!;
      return layer.call(ins.length === 1 ? ins[0]! : ins, TRAINING) as tf.Tensor;
    });
  }
}
