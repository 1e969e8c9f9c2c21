/** Classification metrics from class probabilities and labels. */
export interface Metrics {
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  /**
   * ROC-AUC: for two classes, of the class-1 probability; for more, the mean one-vs-rest AUC over the classes that
   * have both positives and negatives in the set. NaN when no class has both.
   */
  rocAuc: number;
}

/**
 * Area under the ROC curve of `scores` for the examples marked positive: the Mann–Whitney statistic
 * P(score of a positive > score of a negative) + ½ P(equal), with average ranks for ties. NaN without both kinds.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`rocAuc: ${n} scores but ${positive.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tied block
    for (let k = i; k <= j; k++)
      if (positive[order[k]]) {
        rankSumPos += rank;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Metrics of `probs` ([count × numClasses], row-major) against `labels`; the prediction is the arg-max. */
export function classificationMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): Metrics {
  const count = labels.length;
  if (probs.length !== count * numClasses)
    throw new Error(`classificationMetrics: ${probs.length} probabilities for ${count} labels × ${numClasses} classes`);
  const tp = new Array(numClasses).fill(0);
  const fp = new Array(numClasses).fill(0);
  const fn = new Array(numClasses).fill(0);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    let p = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + p]) p = c;
    const y = labels[i];
    if (p === y) {
      correct++;
      tp[y]++;
    } else {
      fp[p]++;
      fn[y]++;
    }
  }
  const present = [...Array(numClasses).keys()].filter((c) => tp[c] + fn[c] > 0);
  const recall = present.map((c) => tp[c] / (tp[c] + fn[c]));
  const f1 = present.map((c) => (2 * tp[c]) / Math.max(1, 2 * tp[c] + fp[c] + fn[c]));
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
  const column = (c: number) => Float64Array.from({ length: count }, (_, i) => probs[i * numClasses + c]);
  const isClass = (c: number) => Array.from({ length: count }, (_, i) => labels[i] === c);
  let auc: number;
  if (numClasses === 2) auc = rocAuc(column(1), isClass(1));
  else {
    const aucs = [...Array(numClasses).keys()]
      .map((c) => rocAuc(column(c), isClass(c)))
      .filter((v) => !Number.isNaN(v));
    auc = aucs.length ? mean(aucs) : NaN;
  }
  return { accuracy: count ? correct / count : 0, balancedAccuracy: mean(recall), macroF1: mean(f1), rocAuc: auc };
}
