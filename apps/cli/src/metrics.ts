/** Classification metrics from predictions and labels. */
export interface Metrics {
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
}

export function classificationMetrics(pred: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Metrics {
  const tp = new Array(numClasses).fill(0);
  const fp = new Array(numClasses).fill(0);
  const fn = new Array(numClasses).fill(0);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = pred[i];
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
  return { accuracy: labels.length ? correct / labels.length : 0, balancedAccuracy: mean(recall), macroF1: mean(f1) };
}
