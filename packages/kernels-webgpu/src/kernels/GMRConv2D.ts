/**
 * GMRConv2D forward on webgpu: binary ring sums of every input channel (TapTableProgram + RingSumProgram), then
 * mixing with Φ = θ·P and the bias (groups = 1: tfjs's tiled matMul; grouped / depthwise: RingMixProgram).
 * Calls outside what the programs cover go to core's composed path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { GMR_CONV_2D, gmrConvComposed, type GMRConvAttrs } from '@gmr-conv/core';
import { geometry, geometryUniformData, unsupportedReason, type Conv2DGeometry } from '../geometry.js';
import { TapTableProgram } from '../programs/tap_table_webgpu.js';
import { RingSumProgram } from '../programs/ring_sum_webgpu.js';
import { RingMixProgram } from '../programs/ring_mix_webgpu.js';
import { adopt, countCall, flat, mixingWeights } from '../shared.js';

export type Runner = WebGPUBackend & {
  runWebGPUProgram(p: unknown, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: unknown): tf.TensorInfo;
};

/** Per-tap ring table of the masks (TapTableProgram), [K·2]. */
export function tapTable(backend: Runner, indexMat: tf.TensorInfo, g: Conv2DGeometry): tf.TensorInfo {
  return backend.runWebGPUProgram(new TapTableProgram(g), [flat(indexMat)], 'float32', geometryUniformData(g));
}

/** Ring sums R [B·Hout·Wout·Cin·n] of x (layout of attrs), for the forward and the filter gradient. */
export function ringSums(backend: Runner, x: tf.TensorInfo, indexMat: tf.TensorInfo, table: tf.TensorInfo, g: Conv2DGeometry, symmetric: boolean): tf.TensorInfo {
  return backend.runWebGPUProgram(new RingSumProgram(g, symmetric && g.kh % 2 === 1 && g.kw % 2 === 1), [flat(x), flat(indexMat), table], 'float32', geometryUniformData(g));
}

export function gmrConv2DWebGPU(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
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
  const outShape = g.channelsFirst ? [g.batch, g.cout, g.outH, g.outW] : [g.batch, g.outH, g.outW, g.cout];
  const { phi, owned } = mixingWeights(weight, logSigmas, a);
  const table = tapTable(backend, indexMat, g);
  const rings = ringSums(backend, x, indexMat, table, g, a.symmetricRings);
  backend.disposeData(table.dataId);
  try {
    if (g.groups === 1) {
      // Dense mixing: one tiled tfjs matMul [B·H·W, Cin·n] × Φᵀ (the ring tensor is a plain matrix here).
      return tf.tidy(() => {
        const r = adopt(rings, [g.batch * g.outH * g.outW, g.cin * g.numRings]);
        let y2 = tf.matMul(r, tf.reshape(phi, [g.cout, g.cin * g.numRings]), false, true);
        r.dispose();
        if (bias) y2 = tf.add(y2, bias);
        const y = tf.reshape(y2, [g.batch, g.outH, g.outW, g.cout]);
        return g.channelsFirst ? tf.transpose(y, [0, 3, 1, 2]) : y;
      }) as unknown as tf.TensorInfo;
    }
    // Grouped / depthwise: the per-output mixing shader (Cin/g·n products per output), written in x's layout.
    const mixInputs = [flat(rings), flat(phi)];
    if (bias) mixInputs.push(flat(bias));
    const y = backend.runWebGPUProgram(new RingMixProgram(g, outShape, bias != null), mixInputs, 'float32', geometryUniformData(g));
    backend.disposeData(rings.dataId);
    return y;
  } finally {
    if (owned) phi.dispose();
  }
}

export const gmrConv2DConfig: tf.KernelConfig = {
  kernelName: GMR_CONV_2D,
  backendName: 'webgpu',
  kernelFunc: gmrConv2DWebGPU as unknown as tf.KernelFunc,
};
