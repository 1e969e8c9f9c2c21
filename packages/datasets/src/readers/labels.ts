/** Labels checked at read time: a label outside the set's classes is a damaged or mislabelled file, named here. */
import { fail } from '../errors.js';

/** Fails on the first label outside 0..numClasses-1, with its index and the allowed range. */
export function checkLabelRange(
  file: string,
  labels: ArrayLike<number>,
  numClasses: number,
  classes = `${numClasses} classes`,
): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses))
      fail(file, `label ${l} at index ${i} is outside the ${classes} (labels must be 0..${numClasses - 1})`);
  }
}
