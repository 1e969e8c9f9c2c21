/**
 * GMRConv{1D,2D,3D}BackpropFilter on webgpu: dΦ [Cout, Cin/g, n] = ring sums of x (RingSumProgram /
 * RingSum3DProgram) contracted with dy over batch and positions (groups = 1: tfjs matMul; else
 * RingFilterGradProgram). Core turns dΦ into dθ and d(log σ). Registered per name by
 * GMRConv{1D,2D,3D}BackpropFilter.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '@gmr-conv/core';
import { channelsOf, computeGMRConvInfo, type GMRKernelArgs } from '@gmr-conv/core/kernel';
import { geometryUniformData, planar, positions, programGeometry } from '../programs/program_geometry.js';
import { RingFilterGradProgram } from '../programs/ring_filter_grad_webgpu.js';
import { countCall } from '../kernel_call_counts.js';
import { adopt, channelsLastRows, flat, ringSums, tapTable, unsupportedReason, type Runner } from './GMRConv_impl.js';

export function gmrConvBackpropFilterWebGPU({
  inputs,
  backend: b,
  attrs: a,
}: GMRKernelArgs<'GMRConv1DBackpropFilter' | 'GMRConv2DBackpropFilter' | 'GMRConv3DBackpropFilter'>): tf.TensorInfo {
  const why = unsupportedReason(a);
  if (why !== null)
    invalid(
      '@gmr-conv/kernels-webgpu GMRConvBackpropFilter',
      'attrs',
      why,
      'a non-transposed 1D, 2D or 3D convolution with a known padding mode',
    );
  countCall('backpropFilter');
  const { x, dy, indexMat } = inputs;
  const backend = b as Runner;
  const cout = channelsOf(dy.shape, a.dataFormat);
  const cin = channelsOf(x.shape, a.dataFormat);
  const g = programGeometry(computeGMRConvInfo(x.shape, [cout, cin / a.groups, indexMat.shape[0]!], a));
  const table = tapTable(backend, indexMat, g);
  const rings = ringSums(backend, x, indexMat, table, g, a.symmetricRings);
  backend.disposeData(table.dataId);
  if (g.groups === 1) {
    // dΦ = dyᵀ·R as one tiled tfjs matMul [Cout, B·positions] × [B·positions, Cin·n].
    return tf.tidy(() => {
      const r = adopt(rings, [g.batch * positions(g), g.cin * g.numRings]);
      const dPhi = tf.matMul(channelsLastRows(dy, g.channelsFirst, g.cout), r, true, false);
      r.dispose();
      return tf.reshape(dPhi, [g.cout, g.cin, g.numRings]);
    });
  }
  const p = planar(g);
  const dPhi = backend.runWebGPUProgram(
    new RingFilterGradProgram(p),
    [flat(rings), flat(dy)],
    'float32',
    geometryUniformData(p),
  );
  backend.disposeData(rings.dataId);
  return dPhi;
}
