/** The paper's test protocol on a trained model: 37 angles (bilinear, zero fill) and flips. */
import { ROTATION_ANGLES, evaluateFlips, evaluateRotations, type ImageSet } from '@gmr-conv/datasets';
import { tf } from './backend.js';
export { parseAngles } from './angles.js';

export interface ModelEval {
  label: string;
  model: string;
  checkpoint?: string;
  testImages: number;
  upright: number;
  /** images of the upright accuracy when it was measured on another (larger) set than the angles */
  uprightImages?: number;
  rotations?: { angles: number[]; accuracy: number[]; mean: number; std: number };
  flips?: { none: number; vertical: number; horizontal: number; flippedMean: number; mean: number };
  seconds: number;
}

export async function evaluateModel(
  model: tf.LayersModel,
  set: ImageSet,
  opts: { label: string; model: string; checkpoint?: string; angles?: number[]; rotations: boolean; flips: boolean; batchSize?: number; uprightSet?: ImageSet },
): Promise<ModelEval> {
  const t0 = performance.now();
  const predict = (x: tf.Tensor4D) => model.predict(x) as tf.Tensor;
  const batchSize = opts.batchSize ?? 500;
  const out: ModelEval = { label: opts.label, model: opts.model, checkpoint: opts.checkpoint, testImages: set.count, upright: NaN, seconds: 0 };
  if (opts.rotations) {
    const r = await evaluateRotations(set, predict, { angles: opts.angles ?? [...ROTATION_ANGLES], batchSize });
    out.rotations = r;
    const i0 = r.angles.indexOf(0);
    if (i0 >= 0) out.upright = r.accuracy[i0];
  }
  if (opts.flips) {
    const f = await evaluateFlips(set, predict, { batchSize });
    const at = (k: string) => f.accuracy[f.flips.indexOf(k as (typeof f.flips)[number])];
    out.flips = { none: at('none'), vertical: at('vertical'), horizontal: at('horizontal'), flippedMean: f.flippedMean, mean: f.mean };
    out.upright = at('none');
  }
  if (opts.uprightSet) {
    out.upright = (await evaluateRotations(opts.uprightSet, predict, { angles: [0], batchSize })).accuracy[0]!;
    out.uprightImages = opts.uprightSet.count;
  }
  if (Number.isNaN(out.upright)) out.upright = (await evaluateRotations(set, predict, { angles: [0], batchSize })).accuracy[0];
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
