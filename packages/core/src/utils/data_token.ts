/**
 * Cache keys for values derived from layer variables (the GMR inference basis, the steerable kernel, batch-norm
 * folding in models). A backend's dataId is an opaque object and Variable.assign (an optimiser step, setWeights,
 * loading) gives a variable a new one, so the identity of the data behind each variable says exactly when a derived
 * value is stale. WeakMap: a dropped dataId leaves no entry.
 */
const dataTokens = new WeakMap<object, number>();
let nextToken = 0;

/** A unique number per tensor data object. */
export function dataToken(dataId: object): number {
  let t = dataTokens.get(dataId);
  if (t === undefined) dataTokens.set(dataId, (t = ++nextToken));
  return t;
}

/** The token of the data a variable holds now, as text; '-' for an absent variable. */
export function variableToken(v: { read(): unknown } | null | undefined): string {
  return v ? String(dataToken((v.read() as { dataId: object }).dataId)) : '-';
}
