/**
 * GMRConv{1D,2D,3D}BackpropInput on webgpu: dy mixed back with Φ (groups = 1: tfjs matMul; else MixTransposeProgram),
 * then a ring-sum gather onto the input positions through the padding mode (RingScatterProgram, RingScatter3DProgram
 * for 3D). Inputs {dy, weight, logSigmas?, indexMat}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, backpropInputName, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometry3DUniformData, geometryUniformData, planar, spatialOf, unsupportedReason } from '../geometry.js';
import { MixTransposeProgram } from '../programs/mix_transpose_webgpu.js';
import { RingScatterProgram } from '../programs/ring_scatter_webgpu.js';
import { RingScatter3DProgram } from '../programs/ring_scatter_3d_webgpu.js';
import { countCall, flat, mixingWeights } from '../shared.js';
import { channelsLastRows, tapTable, type Runner } from './GMRConv2D.js';

type Backend = {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
  disposeData(id: tf.DataId): boolean;
};

/** Output height and width of a 2D conv from dy (kept for compatibility; spatialOf covers every rank). */
export function outHW(a: GMRConvAttrs, dyShape: number[]): [number, number] {
  return a.dataFormat === 'channelsFirst' ? [dyShape[2]!, dyShape[3]!] : [dyShape[1]!, dyShape[2]!];
}

export function gmrConvBackpropInputWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = args.attrs as unknown as GMRConvAttrs;
  const inputs = args.inputs as unknown as Record<string, tf.Tensor>;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-webgpu: GMR conv BackpropInput does not cover ${why}`);
  countCall('backpropInput');
  const dy = inputs.dy!;
  const weight = inputs.weight!;
  const indexMat = inputs.indexMat!;
  const logSigmas = a.hasLogSigmas && inputs.logSigmas && inputs.logSigmas.size > 0 ? inputs.logSigmas : null;
  const backend = args.backend as Backend;
  const g = geometry(a, a.inputShape, weight.shape, indexMat.shape[0]!, spatialOf(a, dy.shape));
  const p = planar(g);
  const { phi, owned } = mixingWeights(weight, logSigmas, a);
  let keepUntilDone: tf.Tensor | null = null;
  let d: tf.TensorInfo;
  if (g.groups === 1) {
    // D = dy·Φ as one tiled tfjs matMul [B·positions, Cout] × [Cout, Cin·n] (dy to channels-last rows first).
    const dT = tf.tidy(() => tf.matMul(channelsLastRows(dy, g.channelsFirst, g.cout), tf.reshape(phi, [g.cout, g.cin * g.numRings])));
    d = { dataId: dT.dataId, shape: dT.shape, dtype: dT.dtype };
    keepUntilDone = dT;
  } else {
    d = backend.runWebGPUProgram(new MixTransposeProgram(p), [flat(dy), flat(phi)], 'float32', geometryUniformData(p));
  }
  const table = tapTable(backend as unknown as Runner, indexMat, g);
  const dx =
    g.rank === 3
      ? backend.runWebGPUProgram(new RingScatter3DProgram(g, a.inputShape), [flat(d), flat(indexMat), table], 'float32', geometry3DUniformData(g))
      : backend.runWebGPUProgram(
          new RingScatterProgram(g, a.inputShape, a.symmetricRings && g.kh % 2 === 1 && g.kw % 2 === 1),
          [flat(d), flat(indexMat), table],
          'float32',
          geometryUniformData(g),
        );
  if (keepUntilDone) keepUntilDone.dispose();
  else backend.disposeData(d.dataId);
  backend.disposeData(table.dataId);
  if (owned) phi.dispose();
  return dx;
}

const config = (name: string): tf.KernelConfig => ({
  kernelName: backpropInputName(name),
  backendName: 'webgpu',
  kernelFunc: gmrConvBackpropInputWebGPU as unknown as tf.KernelFunc,
});
export const gmrConv1DBackpropInputConfig = config(GMR_CONV_1D);
export const gmrConv2DBackpropInputConfig = config(GMR_CONV_2D);
export const gmrConv3DBackpropInputConfig = config(GMR_CONV_3D);
