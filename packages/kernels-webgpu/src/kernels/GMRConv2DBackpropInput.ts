/**
 * GMRConv2DBackpropInput on webgpu: dy mixed back with Φ (groups = 1: tfjs matMul; else MixTransposeProgram), then a ring-sum gather onto
 * the input positions through the padding mode (RingScatterProgram). Inputs {dy, weight, logSigmas?, indexMat}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMR_CONV_2D, backpropInputName, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometryUniformData, unsupportedReason } from '../geometry.js';
import { MixTransposeProgram } from '../programs/mix_transpose_webgpu.js';
import { RingScatterProgram } from '../programs/ring_scatter_webgpu.js';
import { countCall, flat, mixingWeights } from '../shared.js';
import { tapTable, type Runner } from './GMRConv2D.js';

type Backend = {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
  disposeData(id: tf.DataId): boolean;
};

export function outHW(a: GMRConvAttrs, dyShape: number[]): [number, number] {
  return a.dataFormat === 'channelsFirst' ? [dyShape[2]!, dyShape[3]!] : [dyShape[1]!, dyShape[2]!];
}

export function gmrConv2DBackpropInputWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = args.attrs as unknown as GMRConvAttrs;
  const inputs = args.inputs as unknown as Record<string, tf.Tensor>;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-webgpu: ${backpropInputName(GMR_CONV_2D)} does not cover ${why}`);
  countCall('backpropInput');
  const dy = inputs.dy!;
  const weight = inputs.weight!;
  const indexMat = inputs.indexMat!;
  const logSigmas = a.hasLogSigmas && inputs.logSigmas && inputs.logSigmas.size > 0 ? inputs.logSigmas : null;
  const backend = args.backend as Backend;
  const g = geometry(a, a.inputShape, weight.shape, indexMat.shape[0]!, outHW(a, dy.shape));
  const { phi, owned } = mixingWeights(weight, logSigmas, a);
  let keepUntilDone: tf.Tensor | null = null;
  const u = geometryUniformData(g);
  let d: tf.TensorInfo;
  if (g.groups === 1) {
    // D = dy·Φ as one tiled tfjs matMul [B·H·W, Cout] × [Cout, Cin·n] (dy to channels-last first).
    const dT = tf.tidy(() => {
      const dyLast = g.channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
      return tf.matMul(tf.reshape(dyLast, [-1, g.cout]), tf.reshape(phi, [g.cout, g.cin * g.numRings]));
    });
    d = { dataId: dT.dataId, shape: dT.shape, dtype: dT.dtype };
    keepUntilDone = dT;
  } else {
    d = backend.runWebGPUProgram(new MixTransposeProgram(g), [flat(dy), flat(phi)], 'float32', u);
  }
  const table = tapTable(backend as unknown as Runner, indexMat, g);
  const dx = backend.runWebGPUProgram(new RingScatterProgram(g, a.inputShape, a.symmetricRings && g.kh % 2 === 1 && g.kw % 2 === 1), [flat(d), flat(indexMat), table], 'float32', u);
  if (keepUntilDone) keepUntilDone.dispose();
  else backend.disposeData(d.dataId);
  backend.disposeData(table.dataId);
  if (owned) phi.dispose();
  return dx;
}

export const gmrConv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: backpropInputName(GMR_CONV_2D),
  backendName: 'webgpu',
  kernelFunc: gmrConv2DBackpropInputWebGPU as unknown as tf.KernelFunc,
};
