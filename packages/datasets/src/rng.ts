import { invalidArg } from './errors.js';

/**
 * A small seeded PRNG (mulberry32): 32-bit state, period 2^32, fast and identical on every platform.
 * Everything random in this package draws from it, so a seed fixes every result.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) invalidArg('Rng', 'seed', seed, 'a finite number');
    // Mix the seed (which may be a small integer or a fraction) into 32 bits.
    this.state = hash32(Math.floor(seed) ^ Math.floor((seed % 1) * 0x100000000)) >>> 0;
  }
  /** A uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A new generator whose stream is derived from this one's (for per-element streams). */
  fork(): Rng {
    return new Rng((this.next() * 4294967296) >>> 0);
  }
}

/** A 32-bit integer hash (for deriving seeds from (seed, epoch, index) tuples). */
export function hash32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed derived from several integers, order-sensitive. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = hash32(h ^ hash32(p | 0) ^ Math.floor(p / 4294967296));
  return h >>> 0;
}

/** A permutation of 0..n-1 (Fisher–Yates) drawn from rng. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
