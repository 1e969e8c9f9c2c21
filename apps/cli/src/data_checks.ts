/**
 * Checks before any training work: the data (empty sets, labels outside the classes, shapes that disagree) and
 * the memory a batch needs. Each refusal names the set, the value and what is allowed, so a bad input costs
 * nothing and writes nothing.
 */
import { totalmem } from 'node:os';
import type { ImageSet } from '@gmr-conv/datasets';
import { CliError } from './errors.js';

/** Refuses an empty set, inconsistent array lengths and labels outside 0..numClasses-1 (with the first offender). */
export function checkImageSet(set: ImageSet, what: string, numClasses: number): void {
  if (set.count === 0)
    throw new CliError(
      `the ${what} set is empty (0 images): nothing to ${what === 'training' ? 'train on' : 'measure'}; check --data-dir, --classes and --limit`,
    );
  const size = set.height * set.width * set.channels;
  if (!(size > 0))
    throw new CliError(
      `the ${what} set has images of ${set.height}×${set.width}×${set.channels} pixels: every side must be ≥ 1`,
    );
  if (set.images.length !== set.count * size)
    throw new CliError(
      `the ${what} set is inconsistent: ${set.count} images of ${set.height}×${set.width}×${set.channels} need ${set.count * size} pixel values, it holds ${set.images.length}`,
    );
  if (set.labels.length !== set.count)
    throw new CliError(`the ${what} set is inconsistent: ${set.count} images but ${set.labels.length} labels`);
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i];
    if (!(l >= 0 && l < numClasses))
      throw new CliError(
        `the ${what} set has label ${l} at image ${i}, outside the ${numClasses} classes (labels must be 0..${numClasses - 1}); the data is mislabelled or needs --classes`,
      );
  }
}

/** Training and test images must have the same size (the model is built once, for one input shape). */
export function checkSameShape(train: ImageSet, test: ImageSet): void {
  const s = (x: ImageSet) => `${x.height}×${x.width}×${x.channels}`;
  if (s(train) !== s(test))
    throw new CliError(
      `mismatched shapes: training images are ${s(train)}, test images ${s(test)}; both splits must have the same image size`,
    );
}

/** Bytes of activations one training step holds per image, roughly: every conv's output, kept for the gradient, ×4 for gradients and temporaries. */
export function stepBytesPerImage(height: number, width: number, widths: readonly number[]): number {
  return 4 * 4 * height * width * widths.reduce((a, b) => a + b, 0);
}

/** The most a training step may plan to hold: half of this machine's memory. */
export function stepMemoryLimit(): number {
  return totalmem() / 2;
}

/** Refuses a batch whose activations would not fit before any tensor is made, with the estimate and the limit. */
export function checkBatchMemory(
  batchSize: number,
  set: Pick<ImageSet, 'height' | 'width'>,
  widths: readonly number[],
  limit = stepMemoryLimit(),
): void {
  const need = batchSize * stepBytesPerImage(set.height, set.width, widths);
  if (need > limit) {
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    const most = Math.max(1, Math.floor(limit / stepBytesPerImage(set.height, set.width, widths)));
    throw new CliError(
      `--batch-size ${batchSize} with ${set.height}×${set.width} images and widths ${widths.join('/')} needs about ${gb(need)} per training step, over the limit of ${gb(limit)} (half of this machine's memory); use --batch-size ${most} or less`,
    );
  }
}
