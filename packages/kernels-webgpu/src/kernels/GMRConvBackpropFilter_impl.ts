/**
 * GMRConv{1D,2D,3D}BackpropFilter on webgpu: dΦ [Cout, Cin/g, n] = ring sums of x (RingSumProgram /
 * RingSum3DProgram) contracted with dy over batch and positions (groups = 1: tfjs matMul; else
 * RingFilterGradProgram). Inputs {x, dy, indexMat}. Core turns dΦ into dθ and d(log σ).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, backpropFilterName, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometryUniformData, planar, positions, spatialOf, unsupportedReason } from '../geometry.js';
import { channelsLastRows, ringSums, tapTable, type Runner } from './GMRConv2D.js';
import { RingFilterGradProgram } from '../programs/ring_filter_grad_webgpu.js';
import { adopt, countCall, flat } from '../shared.js';

type Backend = {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
  disposeData(id: tf.DataId): boolean;
};

export function gmrConvBackpropFilterWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = args.attrs as unknown as GMRConvAttrs;
  const inputs = args.inputs as unknown as Record<string, tf.Tensor>;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-webgpu: GMR conv BackpropFilter does not cover ${why}`);
  countCall('backpropFilter');
  const x = inputs.x!;
  const dy = inputs.dy!;
  const indexMat = inputs.indexMat!;
  const backend = args.backend as Backend;
  const cf = a.dataFormat === 'channelsFirst';
  const cout = cf ? dy.shape[1]! : dy.shape[dy.rank - 1]!;
  const cin = cf ? x.shape[1]! : x.shape[x.rank - 1]!;
  const g = geometry(a, x.shape, [cout, cin / a.groups], indexMat.shape[0]!, spatialOf(a, dy.shape));
  const table = tapTable(backend as Runner, indexMat, g);
  const rings = ringSums(backend as Runner, x, indexMat, table, g, a.symmetricRings);
  backend.disposeData(table.dataId);
  if (g.groups === 1) {
    // dΦ = dyᵀ·R as one tiled tfjs matMul [Cout, B·positions] × [B·positions, Cin·n].
    return tf.tidy(() => {
      const r = adopt(rings, [g.batch * positions(g), g.cin * g.numRings]);
      const dPhi = tf.matMul(channelsLastRows(dy, g.channelsFirst, g.cout), r, true, false);
      r.dispose();
      return tf.reshape(dPhi, [g.cout, g.cin, g.numRings]);
    }) as unknown as tf.TensorInfo;
  }
  const p = planar(g);
  const dPhi = backend.runWebGPUProgram(new RingFilterGradProgram(p), [flat(rings), flat(dy)], 'float32', geometryUniformData(p));
  backend.disposeData(rings.dataId);
  return dPhi;
}

const config = (name: string): tf.KernelConfig => ({
  kernelName: backpropFilterName(name),
  backendName: 'webgpu',
  kernelFunc: gmrConvBackpropFilterWebGPU as unknown as tf.KernelFunc,
});
export const gmrConv1DBackpropFilterConfig = config(GMR_CONV_1D);
export const gmrConv2DBackpropFilterConfig = config(GMR_CONV_2D);
export const gmrConv3DBackpropFilterConfig = config(GMR_CONV_3D);
