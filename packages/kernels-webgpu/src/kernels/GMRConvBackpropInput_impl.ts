/**
 * GMRConv{1D,2D,3D}BackpropInput on webgpu: dy mixed back with Φ (groups = 1: tfjs matMul; else MixTransposeProgram),
 * then a ring-sum gather onto the input positions through the padding mode (RingScatterProgram, RingScatter3DProgram
 * for 3D). Registered per name by GMRConv{1D,2D,3D}BackpropInput.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '@gmr-conv/core';
import { computeGMRConvInfo, mixingWeights, type GMRKernelArgs } from '@gmr-conv/core/kernel';
import { geometry3DUniformData, geometryUniformData, planar, programGeometry } from '../programs/program_geometry.js';
import { MixTransposeProgram } from '../programs/mix_transpose_webgpu.js';
import { RingScatterProgram } from '../programs/ring_scatter_webgpu.js';
import { RingScatter3DProgram } from '../programs/ring_scatter_3d_webgpu.js';
import { countCall } from '../kernel_call_counts.js';
import { channelsLastRows, flat, tapTable, unsupportedReason, type Runner } from './GMRConv_impl.js';

export function gmrConvBackpropInputWebGPU({
  inputs,
  backend: b,
  attrs: a,
}: GMRKernelArgs<'GMRConv1DBackpropInput' | 'GMRConv2DBackpropInput' | 'GMRConv3DBackpropInput'>): tf.TensorInfo {
  const why = unsupportedReason(a);
  if (why !== null)
    invalid(
      '@gmr-conv/kernels-webgpu GMRConvBackpropInput',
      'attrs',
      why,
      'a non-transposed 1D, 2D or 3D convolution with a known padding mode',
    );
  countCall('backpropInput');
  const { dy, weight, indexMat } = inputs;
  const logSigmas = a.hasLogSigmas && inputs.logSigmas && inputs.logSigmas.size > 0 ? inputs.logSigmas : null;
  const backend = b as Runner;
  const g = programGeometry(computeGMRConvInfo(a.inputShape, weight.shape, a));
  const p = planar(g);
  const phi = mixingWeights(weight, logSigmas, a);
  let keepUntilDone: tf.Tensor | null = null;
  let d: tf.TensorInfo;
  if (g.groups === 1) {
    // D = dy·Φ as one tiled tfjs matMul [B·positions, Cout] × [Cout, Cin·n] (dy to channels-last rows first).
    const dT = tf.tidy(() =>
      tf.matMul(channelsLastRows(dy, g.channelsFirst, g.cout), tf.reshape(phi, [g.cout, g.cin * g.numRings])),
    );
    d = { dataId: dT.dataId, shape: dT.shape, dtype: dT.dtype };
    keepUntilDone = dT;
  } else {
    d = backend.runWebGPUProgram(new MixTransposeProgram(p), [flat(dy), flat(phi)], 'float32', geometryUniformData(p));
  }
  const table = tapTable(backend, indexMat, g);
  const dx =
    g.rank === 3
      ? backend.runWebGPUProgram(
          new RingScatter3DProgram(g, a.inputShape),
          [flat(d), flat(indexMat), table],
          'float32',
          geometry3DUniformData(g),
        )
      : backend.runWebGPUProgram(
          new RingScatterProgram(g, a.inputShape, a.symmetricRings && g.kh % 2 === 1 && g.kw % 2 === 1),
          [flat(d), flat(indexMat), table],
          'float32',
          geometryUniformData(g),
        );
  if (keepUntilDone) keepUntilDone.dispose();
  else backend.disposeData(d.dataId);
  backend.disposeData(table.dataId);
  if (phi !== weight) phi.dispose();
  return dx;
}
