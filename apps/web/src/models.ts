/**
 * The three models (tfjs layers format under models/, written by `pnpm run weights`) and one prediction step:
 * rotate the 28×28 input with @gmr-conv/core's rotateBilinear (bilinear, zero fill: the paper's protocol), run
 * every model, softmax their logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tfl from '@tensorflow/tfjs-layers';
// registers GMRConv2D, GMRSteerableConv2D, the field layers & co. with tf.serialization, so model.json files naming
// them load
import { rotateBilinear } from '@gmr-conv/core';
import { FOLDERS, MODEL_NAMES, type ModelName } from './model_names.js';

export { FOLDERS, LABELS, MODEL_NAMES, type ModelName } from './model_names.js';

export type Models = Record<ModelName, tfl.LayersModel>;

export async function loadModels(): Promise<Models> {
  const load = (m: ModelName) => tfl.loadLayersModel(new URL(`models/${FOLDERS[m]}/model.json`, document.baseURI).href);
  const loaded = await Promise.all(MODEL_NAMES.map(load));
  return Object.fromEntries(MODEL_NAMES.map((m, i) => [m, loaded[i]])) as Models;
}

export interface ModelOutput {
  probs: number[];
  top: number;
  /** milliseconds of this model's forward pass, read back included */
  ms: number;
}

export type Outputs = Record<ModelName, ModelOutput>;

export interface Prediction {
  /** the rotated input, 28×28 in [0, 1] */
  input: Float32Array;
  outputs: Outputs;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Rotates `pixels` (28×28, [0, 1]) by `angle` degrees and runs every model on the current backend. */
export async function predict(models: Models, pixels: Float32Array, angle: number): Promise<Prediction> {
  const x = tf.tidy(() => {
    const t = tf.tensor4d(pixels, [1, 28, 28, 1]);
    return angle % 360 === 0 ? t : rotateBilinear(t, angle);
  });
  try {
    const input = (await x.data()) as Float32Array;
    const out = {} as Outputs;
    for (const m of MODEL_NAMES) {
      const t0 = performance.now();
      const p = tf.tidy(() => tf.softmax(models[m].predict(x) as tf.Tensor2D));
      const probs = Array.from(await p.data());
      p.dispose();
      out[m] = { probs, top: argmax(probs), ms: performance.now() - t0 };
    }
    return { input: Float32Array.from(input), outputs: out };
  } finally {
    x.dispose();
  }
}
