/**
 * Checks a whole-model oracle file (`meta.kind == "model"`, a GMR-ResNet exported by the official PyTorch code):
 * builds the model from `constructor_kwargs`, loads `state_dict`, and compares
 * eval-mode logits (float32 relative error ≤ 1e-4 vs variants.float32.logits),
 * our D4 logit differences (≤ 1e-4) and the 45° figures.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { D4_ELEMENTS, D4_ORACLE_NAMES, invalid, modelInvarianceCheck, type D4Element } from '@gmr-conv/core';
import { gmrResNet18, gmrResNet34, gmrResNet50, type GMRResNetOptions } from '../resnet.js';
import { stateDictFromJSON } from '../weights/state_dict.js';
import { loadPyTorchStateDict } from '../weights/pytorch_import.js';

export const MODEL_ORACLE_TOLERANCE = 1e-4;

interface OracleTensor {
  shape: number[];
  data: number[];
}

export interface ModelOracleFile {
  meta: { kind: string };
  name: string;
  constructor_kwargs: Record<string, unknown>;
  state_dict: Record<string, unknown>;
  rot45_disk_input?: OracleTensor;
  rot45_disk_input_rotated?: OracleTensor;
  variants: Record<
    string,
    {
      input: OracleTensor;
      logits: OracleTensor;
      d4_logit_max_abs_diff: Record<string, number>;
      rot45_disk?: { logits: OracleTensor; logits_rotated_input: OracleTensor; max_abs_diff: number; rel_l2: number };
    }
  >;
}

export interface ModelOracleResult {
  name: string;
  ok: boolean;
  messages: string[];
  figures: {
    logitsRelError: number;
    d4MaxAbsDiff: Partial<Record<D4Element, number>>;
    oracleD4MaxAbsDiff: number;
    rot45?: {
      logitsRelError: number;
      rotatedLogitsRelError: number;
      maxAbsDiff: number;
      oracleMaxAbsDiff: number;
      relL2: number;
      oracleRelL2: number;
    };
  };
}

const CONSTRUCTORS: Record<string, (o: GMRResNetOptions) => tfl.LayersModel> = {
  gmr_resnet18: gmrResNet18,
  gmr_resnet34: gmrResNet34,
  gmr_resnet50: gmrResNet50,
};

/** PyTorch constructor kwargs → our options; unknown kwargs are an error. */
export function optionsFromKwargs(kwargs: Record<string, unknown>): GMRResNetOptions {
  const map: Record<string, keyof GMRResNetOptions> = {
    gmr_conv_size: 'gmrConvSize',
    num_classes: 'numClasses',
    inplanes: 'inplanes',
    in_channels: 'inChannels',
    num_rings: 'numRings',
    layer_stride: 'layerStride',
    skip_first_maxpool: 'skipFirstPool',
    zero_init_residual: 'zeroInitResidual',
  };
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs)) {
    if (k === 'sigma_no_weight_decay') continue; // optimizer grouping only
    const ours = map[k];
    if (!ours) invalid('optionsFromKwargs', 'constructor_kwargs key', k, `one of ${Object.keys(map).join(', ')}`);
    o[ours] = v;
  }
  return o as GMRResNetOptions;
}

/** NCHW oracle tensor → NHWC tf tensor. */
export function nchwToNhwc(t: OracleTensor): tf.Tensor4D {
  return tf.tidy(() =>
    tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number], 'float32'), [0, 2, 3, 1]),
  );
}

function relError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(ours[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return num / Math.max(den, 1e-30);
}

/** Runs one model oracle file on the current backend. */
export function checkModelOracle(file: ModelOracleFile, tolerance = MODEL_ORACLE_TOLERANCE): ModelOracleResult {
  const messages: string[] = [];
  const ctor = CONSTRUCTORS[file.name];
  if (!ctor) invalid('checkModelOracle', 'name', file.name, `one of ${Object.keys(CONSTRUCTORS).join(', ')}`);
  const model = ctor(optionsFromKwargs(file.constructor_kwargs));
  try {
    loadPyTorchStateDict(model, stateDictFromJSON(file.state_dict, `${file.name} state_dict`));
    const v = file.variants.float32;
    const predict = (x: tf.Tensor) => model.predict(x) as tf.Tensor;
    const logitsOf = (t: OracleTensor) => tf.tidy(() => predict(nchwToNhwc(t)).dataSync() as Float32Array);
    const logits = logitsOf(v.input);
    const logitsRelError = relError(logits, v.logits.data);
    if (!(logitsRelError <= tolerance))
      messages.push(`logits relative error ${logitsRelError.toExponential(2)} > ${tolerance}`);
    const x = nchwToNhwc(v.input);
    const d4 = modelInvarianceCheck(predict, x);
    x.dispose();
    for (const e of D4_ELEMENTS) {
      if (e === 'identity') continue;
      const ours = d4[e]!;
      if (!(ours <= tolerance))
        messages.push(`D4 ${D4_ORACLE_NAMES[e]}: max |Δlogits| ${ours.toExponential(2)} > ${tolerance}`);
    }
    const oracleD4 = Math.max(...Object.values(v.d4_logit_max_abs_diff));
    const result: ModelOracleResult = {
      name: file.name,
      ok: false,
      messages,
      figures: { logitsRelError, d4MaxAbsDiff: d4, oracleD4MaxAbsDiff: oracleD4 },
    };
    if (v.rot45_disk && file.rot45_disk_input && file.rot45_disk_input_rotated) {
      const a = logitsOf(file.rot45_disk_input);
      const b = logitsOf(file.rot45_disk_input_rotated);
      let maxAbs = 0;
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
        num += (a[i] - b[i]) ** 2;
        den += a[i] ** 2;
      }
      const r = {
        logitsRelError: relError(a, v.rot45_disk.logits.data),
        rotatedLogitsRelError: relError(b, v.rot45_disk.logits_rotated_input.data),
        maxAbsDiff: maxAbs,
        oracleMaxAbsDiff: v.rot45_disk.max_abs_diff,
        relL2: Math.sqrt(num / den),
        oracleRelL2: v.rot45_disk.rel_l2,
      };
      if (!(r.logitsRelError <= tolerance))
        messages.push(`rot45 logits relative error ${r.logitsRelError.toExponential(2)} > ${tolerance}`);
      if (!(r.rotatedLogitsRelError <= tolerance))
        messages.push(
          `rot45 rotated-input logits relative error ${r.rotatedLogitsRelError.toExponential(2)} > ${tolerance}`,
        );
      // The 45° gap itself is a difference of two logit vectors: allow the logit tolerance on each side.
      const allowed = 2 * tolerance * Math.max(...Array.from(v.rot45_disk.logits.data, Math.abs)) + 1e-6;
      if (!(Math.abs(r.maxAbsDiff - r.oracleMaxAbsDiff) <= allowed))
        messages.push(`rot45 max |Δ| ${r.maxAbsDiff} vs oracle ${r.oracleMaxAbsDiff}`);
      result.figures.rot45 = r;
    }
    result.ok = messages.length === 0;
    return result;
  } finally {
    model.dispose();
  }
}
