/**
 * GMRConv2DBackpropFilter on webgpu: dΦ [Cout, Cin/g, n] = ring sums of x (RingSumProgram) contracted with dy over
 * batch and positions (groups = 1: tfjs matMul; else RingFilterGradProgram). Inputs {x, dy, indexMat}. Core turns dΦ into dθ and d(log σ).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMR_CONV_2D, backpropFilterName, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometryUniformData, unsupportedReason } from '../geometry.js';
import { ringSums, tapTable, type Runner } from './GMRConv2D.js';
import { RingFilterGradProgram } from '../programs/ring_filter_grad_webgpu.js';
import { adopt, countCall, flat } from '../shared.js';
import { outHW } from './GMRConv2DBackpropInput.js';

type Backend = {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
  disposeData(id: tf.DataId): boolean;
};

export function gmrConv2DBackpropFilterWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = args.attrs as unknown as GMRConvAttrs;
  const inputs = args.inputs as unknown as Record<string, tf.Tensor>;
  const why = unsupportedReason(a);
  if (why !== null) throw new Error(`@gmr-conv/kernels-webgpu: ${backpropFilterName(GMR_CONV_2D)} does not cover ${why}`);
  countCall('backpropFilter');
  const x = inputs.x!;
  const dy = inputs.dy!;
  const indexMat = inputs.indexMat!;
  const backend = args.backend as Backend;
  const cout = a.dataFormat === 'channelsFirst' ? dy.shape[1]! : dy.shape[3]!;
  const cin = a.dataFormat === 'channelsFirst' ? x.shape[1]! : x.shape[3]!;
  const g = geometry(a, x.shape, [cout, cin / a.groups], indexMat.shape[0]!, outHW(a, dy.shape));
  const u = geometryUniformData(g);
  const table = tapTable(backend as Runner, indexMat, g);
  const rings = ringSums(backend as Runner, x, indexMat, table, g, a.symmetricRings);
  backend.disposeData(table.dataId);
  if (g.groups === 1) {
    // dΦ = dyᵀ·R as one tiled tfjs matMul [Cout, B·H·W] × [B·H·W, Cin·n].
    return tf.tidy(() => {
      const r = adopt(rings, [g.batch * g.outH * g.outW, g.cin * g.numRings]);
      const dyLast = g.channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
      const dPhi = tf.matMul(tf.reshape(dyLast, [-1, g.cout]), r, true, false);
      r.dispose();
      return tf.reshape(dPhi, [g.cout, g.cin, g.numRings]);
    }) as unknown as tf.TensorInfo;
  }
  const dPhi = backend.runWebGPUProgram(new RingFilterGradProgram(g), [flat(rings), flat(dy)], 'float32', u);
  backend.disposeData(rings.dataId);
  return dPhi;
}

export const gmrConv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: backpropFilterName(GMR_CONV_2D),
  backendName: 'webgpu',
  kernelFunc: gmrConv2DBackpropFilterWebGPU as unknown as tf.KernelFunc,
};
