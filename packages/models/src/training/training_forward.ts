/**
 * TrainingForward: model.apply(x, {training: true}) for a training step, computed with fewer kernels and less
 * JavaScript. Two things change, neither the numbers:
 * - each batch norm (core's FusedBatchNormalization, which every builder here uses) whose output goes to a plain ReLU
 *   layer and nowhere else runs with that ReLU as one kernel each way (trainingCallWithRelu): in a small CNN the ReLU's
 *   own passes over the activations, forward and gradient, cost about a tenth of a step on native; likewise each
 *   steerable FieldBatchNorm whose output goes only to a FieldNonlinearity in 'gate' mode on its fields
 *   (trainingCallWithGate);
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
import { FieldBatchNorm, FieldNonlinearity, FusedBatchNormalization, gatedFields, invalid } from '@gmr-conv/core';
import { directPlan, followingRelu, soleConsumer, type Layer } from '../layer_graph.js';

const TRAINING = { training: true };

export class TrainingForward {
  private readonly plan: Layer[] | null;
  /** Each fusable batch norm's activation layer and how the two run as one, and those activation layers. */
  private readonly pairOf = new Map<Layer, { next: Layer; run: (x: tf.Tensor) => tf.Tensor | null }>();
  private readonly fusedNext = new Set<Layer>();

  constructor(readonly model: tfl.LayersModel) {
    if (!(model instanceof tfl.LayersModel)) invalid('TrainingForward', 'model', model, 'a tf.LayersModel');
    this.plan = directPlan(model);
    if (!this.plan) return;
    for (const layer of this.plan) {
      let pair: { next: Layer; run: (x: tf.Tensor) => tf.Tensor | null } | null = null;
      if (layer instanceof FusedBatchNormalization) {
        const relu = followingRelu(model, layer);
        if (relu) pair = { next: relu, run: (x) => layer.trainingCallWithRelu(x) };
      } else if (layer instanceof FieldBatchNorm) {
        const next = soleConsumer(model, layer);
        if (
          next instanceof FieldNonlinearity &&
          next.mode === 'gate' &&
          String(gatedFields(next.fields)) === String(layer.fields)
        )
          pair = { next, run: (x) => layer.trainingCallWithGate(x) };
      }
      if (!pair) continue;
      this.pairOf.set(layer, pair);
      this.fusedNext.add(pair.next);
    }
  }

  /** The batch norm → activation pairs that run as one kernel (where the backend has the kernels), as "bn→act" names. */
  get fused(): string[] {
    return [...this.pairOf].map(([bn, p]) => `${bn.name}→${p.next.name}`);
  }

  /** The model's output for x in training mode (batch statistics, moving averages updated), as model.apply(x, {training: true}). */
  apply(x: tf.Tensor): tf.Tensor {
    if (!this.plan) return this.model.apply(x, TRAINING) as tf.Tensor;
    const values = new Map<number, tf.Tensor>([[this.model.inputs[0]!.id, x]]);
    // Outputs of batch norms whose activation was applied with them: the activation layer hands them on.
    const rectified = new Set<number>();
    for (const layer of this.plan) {
      const node = layer.inboundNodes[0]!;
      const ins = node.inputTensors.map((s) => values.get(s.id)!);
      let out: tf.Tensor;
      const fused = this.pairOf.get(layer)?.run(ins[0]!) ?? null;
      if (fused) {
        out = fused;
        rectified.add(node.outputTensors[0]!.id);
      } else if (this.fusedNext.has(layer) && rectified.has(node.inputTensors[0]!.id)) out = ins[0]!;
      else out = layer.call(ins.length === 1 ? ins[0]! : ins, TRAINING) as tf.Tensor;
      values.set(node.outputTensors[0]!.id, out);
    }
    return values.get(this.model.outputs[0]!.id)!;
  }
}
