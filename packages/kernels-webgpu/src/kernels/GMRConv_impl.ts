/**
 * GMRConv{1D,2D,3D} forward on webgpu: binary ring sums of every input channel (TapTableProgram + RingSumProgram, or
 * RingSum3DProgram for 3D), then mixing with Φ = θ·P and the bias (groups = 1: tfjs's tiled matMul; grouped /
 * depthwise: RingMixProgram). A 1D conv runs the 2D programs with height 1. Calls outside what the programs cover go
 * to core's composed path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { GMR_CONV_1D, GMR_CONV_2D, GMR_CONV_3D, gmrConvComposed, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometry3DUniformData, geometryUniformData, planar, positions, unsupportedReason, type Conv2DGeometry } from '../geometry.js';
import { TapTableProgram } from '../programs/tap_table_webgpu.js';
import { RingSumProgram } from '../programs/ring_sum_webgpu.js';
import { RingSum3DProgram } from '../programs/ring_sum_3d_webgpu.js';
import { RingMixProgram } from '../programs/ring_mix_webgpu.js';
import { adopt, countCall, flat, mixingWeights } from '../shared.js';

export type Runner = WebGPUBackend & {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
};

/** Per-tap ring table of the masks (TapTableProgram), [K·2]. */
export function tapTable(backend: Runner, indexMat: tf.TensorInfo, g: Conv2DGeometry): tf.TensorInfo {
  const p = planar(g);
  return backend.runWebGPUProgram(new TapTableProgram(p), [flat(indexMat)], 'float32', geometryUniformData(p));
}

/** Ring sums R [B·positions·Cin·n] of x (layout of attrs), for the forward and the filter gradient. */
export function ringSums(backend: Runner, x: tf.TensorInfo, indexMat: tf.TensorInfo, table: tf.TensorInfo, g: Conv2DGeometry, symmetric: boolean): tf.TensorInfo {
  if (g.rank === 3) return backend.runWebGPUProgram(new RingSum3DProgram(g), [flat(x), flat(indexMat), table], 'float32', geometry3DUniformData(g));
  return backend.runWebGPUProgram(new RingSumProgram(g, symmetric && g.kh % 2 === 1 && g.kw % 2 === 1), [flat(x), flat(indexMat), table], 'float32', geometryUniformData(g));
}

/** Output shape in the layout of attrs. */
export function outputShape(g: Conv2DGeometry): number[] {
  const spatial = [g.outD, g.outH, g.outW].slice(3 - g.rank);
  return g.channelsFirst ? [g.batch, g.cout, ...spatial] : [g.batch, ...spatial, g.cout];
}

/** [B·positions, C] (channels-last rows) of a tensor in the layout of attrs; rank ≤ 3 transposes only. */
export function channelsLastRows(t: tf.Tensor, channelsFirst: boolean, channels: number): tf.Tensor {
  if (!channelsFirst) return tf.reshape(t, [-1, channels]);
  const b = t.shape[0]!;
  return tf.reshape(tf.transpose(tf.reshape(t, [b, channels, -1]), [0, 2, 1]), [-1, channels]);
}

export function gmrConvWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = args.attrs as unknown as GMRConvAttrs;
  const inputs = args.inputs as unknown as Record<string, tf.Tensor>;
  const x = inputs.x!;
  const weight = inputs.weight!;
  const indexMat = inputs.indexMat!;
  const logSigmas = a.hasLogSigmas ? inputs.logSigmas! : null;
  const bias = a.hasBias ? inputs.bias! : null;
  if (unsupportedReason(a) !== null || x.dtype !== 'float32') {
    countCall('fallback');
    return gmrConvComposed({ x, weight, logSigmas, indexMat, bias }, a) as unknown as tf.TensorInfo;
  }
  countCall('forward');
  const backend = args.backend as Runner;
  const g = geometry(a, x.shape, weight.shape, indexMat.shape[0]!);
  const outShape = outputShape(g);
  const { phi, owned } = mixingWeights(weight, logSigmas, a);
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
      }) as unknown as tf.TensorInfo;
    }
    // Grouped / depthwise: the per-output mixing shader (Cin/g·n products per output), written in x's layout.
    const p = planar(g);
    const mixInputs = [flat(rings), flat(phi)];
    if (bias) mixInputs.push(flat(bias));
    const y = backend.runWebGPUProgram(new RingMixProgram(p, outShape, bias != null), mixInputs, 'float32', geometryUniformData(p));
    backend.disposeData(rings.dataId);
    return y;
  } finally {
    if (owned) phi.dispose();
  }
}

const forwardConfig = (kernelName: string): tf.KernelConfig => ({ kernelName, backendName: 'webgpu', kernelFunc: gmrConvWebGPU as unknown as tf.KernelFunc });
export const gmrConv1DConfig = forwardConfig(GMR_CONV_1D);
export const gmrConv2DConfig = forwardConfig(GMR_CONV_2D);
export const gmrConv3DConfig = forwardConfig(GMR_CONV_3D);
