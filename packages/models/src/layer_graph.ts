/**
 * What the direct runs (BatchNormFolding's inference, TrainingForward's training batch) read of a functional model's
 * graph: an order to call its layers in without tfjs-layers' executor, and which layer alone takes a layer's output (a
 * batch norm handing its output to a ReLU alone can be computed with it as one).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export type Layer = tfl.layers.Layer;

/**
 * The layers of `model` in an order a direct run can call them in, each on the outputs of the layers before it (an
 * output may feed several layers): every layer applied once (one inbound node, one output), one input and one output.
 * Null for anything else (shared layers, several inputs or outputs): the caller then goes through tfjs-layers.
 */
export function directPlan(model: tfl.LayersModel): Layer[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const known = new Set<number>([model.inputs[0]!.id]);
  const plan: Layer[] = [];
  // model.layers lists a functional model's layers by depth, inputs first
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) return null;
    const node = layer.inboundNodes[0]!;
    if (node.outputTensors.length !== 1 || !node.inputTensors.every((s) => known.has(s.id))) return null;
    known.add(node.outputTensors[0]!.id);
    plan.push(layer);
  }
  return known.has(model.outputs[0]!.id) ? plan : null;
}

/**
 * A directPlan run on x: each layer in turn gets the values of its inputs and `step` returns its output (an output may
 * feed several layers); the model's output at the end. Call inside tf.tidy.
 */
export function runPlan(
  model: tfl.LayersModel,
  plan: Layer[],
  x: tf.Tensor,
  step: (layer: Layer, ins: tf.Tensor[]) => tf.Tensor,
): tf.Tensor {
  const values = new Map<number, tf.Tensor>([[model.inputs[0]!.id, x]]);
  for (const layer of plan) {
    const node = layer.inboundNodes[0]!;
    values.set(
      node.outputTensors[0]!.id,
      step(
        layer,
        node.inputTensors.map((s) => values.get(s.id)!),
      ),
    );
  }
  return values.get(model.outputs[0]!.id)!;
}

/**
 * The layer that is the only consumer of `layer`'s output and has no other input, where that output is not also an
 * output of `model`; null otherwise. (A batch norm fused with what follows it hands on only the fused output.)
 */
export function soleConsumer(model: tfl.LayersModel, layer: Layer): Layer | null {
  if (layer.outboundNodes.length !== 1 || layer.inboundNodes.length !== 1) return null;
  const out = layer.inboundNodes[0]!.outputTensors[0];
  if (!out || model.outputs.some((o) => o.id === out.id)) return null;
  const next = layer.outboundNodes[0]!.outboundLayer;
  if (!next || next.inboundNodes.length !== 1 || next.inboundNodes[0]!.inboundLayers.length !== 1) return null;
  return next;
}

/** Whether `layer` is a plain ReLU: tfl.layers.reLU without maxValue, or an Activation 'relu'. */
export function isPlainRelu(layer: Layer): boolean {
  const c = layer.getConfig();
  return (
    (layer.getClassName() === 'ReLU' && c.maxValue == null) ||
    (layer.getClassName() === 'Activation' && c.activation === 'relu')
  );
}

/** The plain ReLU layer that is the only consumer of `bn`'s output (see soleConsumer), or null. */
export function followingRelu(model: tfl.LayersModel, bn: Layer): Layer | null {
  const next = soleConsumer(model, bn);
  return next && isPlainRelu(next) ? next : null;
}
