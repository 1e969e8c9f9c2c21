/**
 * GMRConv{1D,2D,3D} forward on webgpu: binary ring sums of every input channel (TapTableProgram + RingSumProgram, or
 * RingSum3DProgram for 3D), then mixing with Φ = θ·P and the bias (groups = 1: tfjs's tiled matMul; grouped /
 * depthwise: RingMixProgram). A 1D conv runs the 2D programs with height 1. Calls outside what the programs cover go
 * to core's composed path. The kernel files (GMRConv1D.ts, GMRConv2D.ts, GMRConv3D.ts) register this for their name;
 * the helpers here are shared with the backward kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  computeGMRConvInfo,
  forwardTensors,
  gmrConvComposed,
  mixingWeights,
  PADDING_MODE_CODES,
  type GMRConvAttrs,
  type GMRKernelArgs,
} from '@gmr-conv/core/kernel';
import {
  geometry3DUniformData,
  geometryUniformData,
  planar,
  positions,
  programGeometry,
  type Conv2DGeometry,
} from '../programs/program_geometry.js';
import { TapTableProgram } from '../programs/tap_table_webgpu.js';
import { RingSumProgram } from '../programs/ring_sum_webgpu.js';
import { RingSum3DProgram } from '../programs/ring_sum_3d_webgpu.js';
import { RingMixProgram } from '../programs/ring_mix_webgpu.js';
import { countCall } from '../kernel_call_counts.js';

export type Runner = WebGPUBackend & {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
};

/** Why this call is not covered by the fused kernels (null when it is). */
export function unsupportedReason(a: GMRConvAttrs): string | null {
  if (![1, 2, 3].includes(a.rank) || a.kernelSize.length !== a.rank) return `rank ${a.rank}`;
  if (a.transposed) return 'transposed';
  if (!(a.paddingMode in PADDING_MODE_CODES)) return `paddingMode ${a.paddingMode}`;
  return null;
}

/** A rank-1 view of a tensor for a program input (tfjs-webgpu's generated accessors break at rank ≥ 5). */
export function flat(t: tf.TensorInfo): tf.TensorInfo {
  return { dataId: t.dataId, shape: [t.shape.reduce((p, q) => p * q, 1)], dtype: t.dtype };
}

/** A tensor owning the data of a program output, viewed with `shape` (dispose it to free the data). */
export function adopt(info: tf.TensorInfo, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo({ dataId: info.dataId, shape, dtype: info.dtype });
}

/** Per-tap ring table of the masks (TapTableProgram), [K·2]. */
export function tapTable(backend: Runner, indexMat: tf.TensorInfo, g: Conv2DGeometry): tf.TensorInfo {
  const p = planar(g);
  return backend.runWebGPUProgram(new TapTableProgram(p), [flat(indexMat)], 'float32', geometryUniformData(p));
}

/** Ring sums R [B·positions·Cin·n] of x (layout of attrs), for the forward and the filter gradient. */
export function ringSums(
  backend: Runner,
  x: tf.TensorInfo,
  indexMat: tf.TensorInfo,
  table: tf.TensorInfo,
  g: Conv2DGeometry,
  symmetric: boolean,
): tf.TensorInfo {
  if (g.rank === 3)
    return backend.runWebGPUProgram(
      new RingSum3DProgram(g),
      [flat(x), flat(indexMat), table],
      'float32',
      geometry3DUniformData(g),
    );
  return backend.runWebGPUProgram(
    new RingSumProgram(g, symmetric && g.kh % 2 === 1 && g.kw % 2 === 1),
    [flat(x), flat(indexMat), table],
    'float32',
    geometryUniformData(g),
  );
}

/** [B·positions, C] (channels-last rows) of a tensor in the layout of attrs; rank ≤ 3 transposes only. */
export function channelsLastRows(t: tf.Tensor, channelsFirst: boolean, channels: number): tf.Tensor {
  if (!channelsFirst) return tf.reshape(t, [-1, channels]);
  const b = t.shape[0]!;
  return tf.reshape(tf.transpose(tf.reshape(t, [b, channels, -1]), [0, 2, 1]), [-1, channels]);
}

export function gmrConvWebGPU({
  inputs,
  backend: b,
  attrs: a,
}: GMRKernelArgs<'GMRConv1D' | 'GMRConv2D' | 'GMRConv3D'>): tf.TensorInfo {
  if (a.activation === 'relu') {
    // The WGSL kernels write the linear output; the ReLU is one more pass here.
    const linear = gmrConvWebGPU({ inputs, backend: b, attrs: { ...a, activation: 'linear' } });
    const t = linear instanceof tf.Tensor ? linear : tf.engine().makeTensorFromTensorInfo(linear);
    const y = tf.relu(t);
    t.dispose();
    return y;
  }
  const t = forwardTensors(inputs, a);
  const { x, weight, indexMat } = t;
  const bias = t.bias ?? null;
  if (unsupportedReason(a) !== null || x.dtype !== 'float32') {
    countCall('fallback');
    return gmrConvComposed(t, a);
  }
  countCall('forward');
  const backend = b as Runner;
  const info = computeGMRConvInfo(x.shape, weight.shape, a);
  const g = programGeometry(info);
  const outShape = info.outShape;
  const phi = mixingWeights(weight, t.logSigmas, a);
  const table = tapTable(backend, indexMat, g);
  const rings = ringSums(backend, x, indexMat, table, g, a.symmetricRings);
  backend.disposeData(table.dataId);
  try {
    if (g.groups === 1) {
      // Dense mixing: one tiled tfjs matMul [B·positions, Cin·n] × Φᵀ (the ring tensor is a plain matrix here).
      return tf.tidy(() => {
        const r = adopt(rings, [g.batch * positions(g), g.cin * g.numRings]);
        let y2 = tf.matMul(r, tf.reshape(phi, [g.cout, g.cin * g.numRings]), false, true);
        r.dispose();
        if (bias) y2 = tf.add(y2, bias);
        if (!g.channelsFirst) return tf.reshape(y2, outShape);
        return tf.reshape(tf.transpose(tf.reshape(y2, [g.batch, positions(g), g.cout]), [0, 2, 1]), outShape);
      });
    }
    // Grouped / depthwise: the per-output mixing shader (Cin/g·n products per output), written in x's layout.
    const p = planar(g);
    const mixInputs = [flat(rings), flat(phi)];
    if (bias) mixInputs.push(flat(bias));
    const y = backend.runWebGPUProgram(
      new RingMixProgram(p, outShape, bias != null),
      mixInputs,
      'float32',
      geometryUniformData(p),
    );
    backend.disposeData(rings.dataId);
    return y;
  } finally {
    if (phi !== weight) phi.dispose();
  }
}
