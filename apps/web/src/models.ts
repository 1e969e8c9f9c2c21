/**
 * The two models (tfjs layers format under models/, written by `pnpm run weights`) and one prediction step:
 * rotate the 28×28 input with @gmr-conv/core's rotateBilinear (bilinear, zero fill: the paper's protocol), run
 * both models, softmax their logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tfl from '@tensorflow/tfjs-layers';
// registers GMRConv2D & co. with tf.serialization, so model.json files naming them load
import { rotateBilinear } from '@gmr-conv/core';

export const MODEL_NAMES = ['gmr', 'plain'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
const FOLDERS: Record<ModelName, string> = { gmr: 'gmr-cnn', plain: 'plain-cnn' };

export type Models = Record<ModelName, tfl.LayersModel>;

export async function loadModels(): Promise<Models> {
  const load = (m: ModelName) => tfl.loadLayersModel(new URL(`models/${FOLDERS[m]}/model.json`, document.baseURI).href);
  const [gmr, plain] = await Promise.all([load('gmr'), load('plain')]);
  return { gmr, plain };
}

export interface ModelOutput {
  probs: number[];
  top: number;
  /** milliseconds of this model's forward pass, read back included */
  ms: number;
}

export interface Prediction {
  /** the rotated input, 28×28 in [0, 1] */
  input: Float32Array;
  gmr: ModelOutput;
  plain: ModelOutput;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Rotates `pixels` (28×28, [0, 1]) by `angle` degrees and runs both models on the current backend. */
export async function predict(models: Models, pixels: Float32Array, angle: number): Promise<Prediction> {
  const x = tf.tidy(() => {
    const t = tf.tensor4d(pixels, [1, 28, 28, 1]);
    return angle % 360 === 0 ? t : rotateBilinear(t, angle);
  });
  try {
    const input = (await x.data()) as Float32Array;
    const out = {} as Record<ModelName, ModelOutput>;
    for (const m of MODEL_NAMES) {
      const t0 = performance.now();
      const p = tf.tidy(() => tf.softmax(models[m].predict(x) as tf.Tensor2D));
      const probs = Array.from(await p.data());
      p.dispose();
      out[m] = { probs, top: argmax(probs), ms: performance.now() - t0 };
    }
    return { input: Float32Array.from(input), ...out };
  } finally {
    x.dispose();
  }
}
