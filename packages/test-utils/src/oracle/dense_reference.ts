/**
 * An independent dense convolution in plain float64 loops (channels-first,
 * PyTorch semantics: groups, stride, dilation, padding modes; transposed too).
 * It shares no code with the tfjs ops, so tests and the oracle can check the ops
 * against it where the reference PyTorch code itself is broken.
 */
export type Mode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface DenseConvSpec {
  strides: number[];
  dilations: number[];
  /** (before, after) per spatial axis. */
  pads: Array<[number, number]>;
  groups: number;
  paddingMode?: Mode;
}

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Maps a padded coordinate to the source coordinate, or -1 for a zero. */
export function sourceIndex(i: number, len: number, before: number, mode: Mode): number {
  let j = i - before;
  if (j >= 0 && j < len) return j;
  if (mode === 'zeros') return -1;
  if (mode === 'replicate') return Math.min(Math.max(j, 0), len - 1);
  if (mode === 'circular') return ((j % len) + len) % len;
  // reflect (edge not repeated)
  while (j < 0 || j >= len) j = j < 0 ? -j : 2 * (len - 1) - j;
  return j;
}

function* indices(shape: number[]): Generator<number[]> {
  const total = shape.reduce((a, b) => a * b, 1);
  const idx = new Array(shape.length).fill(0);
  for (let t = 0; t < total; t++) {
    yield idx.slice();
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
}

/** y[b, o, ...] = Σ x_pad[b, g·Cin/g + c, s·p + d·t] · K[o, c, t] + bias[o]. x: [B, Cin, ...S], kernel: [Cout, Cin/g, ...k]. */
export function denseConvReference(
  x: ArrayLike<number>,
  xShape: number[],
  kernel: ArrayLike<number>,
  kShape: number[],
  bias: ArrayLike<number> | null,
  spec: DenseConvSpec,
): { data: Float64Array; shape: number[] } {
  const rank = xShape.length - 2;
  const [B, Cin] = xShape;
  const S = xShape.slice(2);
  const [Cout, CinG] = kShape;
  const K = kShape.slice(2);
  const mode = spec.paddingMode ?? 'zeros';
  const outS = S.map(
    (len, i) =>
      Math.floor((len + spec.pads[i][0] + spec.pads[i][1] - spec.dilations[i] * (K[i] - 1) - 1) / spec.strides[i]) + 1,
  );
  const outShape = [B, Cout, ...outS];
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const xs = strides(xShape);
  const ks = strides(kShape);
  const os = strides(outShape);
  const coutG = Cout / spec.groups;
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < Cout; o++) {
      const g = Math.floor(o / coutG);
      for (const p of indices(outS)) {
        let acc = bias ? bias[o] : 0;
        for (let c = 0; c < CinG; c++) {
          const ci = g * CinG + c;
          for (const t of indices(K)) {
            let xOff = b * xs[0] + ci * xs[1];
            let ok = true;
            for (let a = 0; a < rank; a++) {
              const src = sourceIndex(p[a] * spec.strides[a] + t[a] * spec.dilations[a], S[a], spec.pads[a][0], mode);
              if (src < 0) {
                ok = false;
                break;
              }
              xOff += src * xs[2 + a];
            }
            if (!ok) continue;
            let kOff = o * ks[0] + c * ks[1];
            for (let a = 0; a < rank; a++) kOff += t[a] * ks[2 + a];
            acc += x[xOff] * kernel[kOff];
          }
        }
        let oOff = b * os[0] + o * os[1];
        for (let a = 0; a < rank; a++) oOff += p[a] * os[2 + a];
        out[oOff] = acc;
      }
    }
  }
  void Cin;
  return { data: out, shape: outShape };
}

/**
 * PyTorch conv_transpose (channels-first): kernel [Cin, Cout/g, ...k]; every input
 * pixel scatters its kernel into the output, then `pads` are cropped.
 */
export function denseConvTransposeReference(
  x: ArrayLike<number>,
  xShape: number[],
  kernel: ArrayLike<number>,
  kShape: number[],
  bias: ArrayLike<number> | null,
  spec: {
    strides: number[];
    dilations: number[];
    pads: Array<[number, number]>;
    groups: number;
    outputPadding: number[];
  },
): { data: Float64Array; shape: number[] } {
  const rank = xShape.length - 2;
  const [B, Cin] = xShape;
  const S = xShape.slice(2);
  const [, CoutG] = kShape;
  const K = kShape.slice(2);
  const Cout = CoutG * spec.groups;
  const CinG = Cin / spec.groups;
  const outS = S.map(
    (len, i) =>
      (len - 1) * spec.strides[i] -
      spec.pads[i][0] -
      spec.pads[i][1] +
      spec.dilations[i] * (K[i] - 1) +
      spec.outputPadding[i] +
      1,
  );
  const outShape = [B, Cout, ...outS];
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const xs = strides(xShape);
  const ks = strides(kShape);
  const os = strides(outShape);
  for (let b = 0; b < B; b++) {
    for (let ci = 0; ci < Cin; ci++) {
      const g = Math.floor(ci / CinG);
      for (const p of indices(S)) {
        let xOff = b * xs[0] + ci * xs[1];
        for (let a = 0; a < rank; a++) xOff += p[a] * xs[2 + a];
        const v = x[xOff];
        for (let co = 0; co < CoutG; co++) {
          for (const t of indices(K)) {
            let oOff = b * os[0] + (g * CoutG + co) * os[1];
            let ok = true;
            for (let a = 0; a < rank; a++) {
              const q = p[a] * spec.strides[a] + t[a] * spec.dilations[a] - spec.pads[a][0];
              if (q < 0 || q >= outS[a]) {
                ok = false;
                break;
              }
              oOff += q * os[2 + a];
            }
            if (!ok) continue;
            let kOff = ci * ks[0] + co * ks[1];
            for (let a = 0; a < rank; a++) kOff += t[a] * ks[2 + a];
            out[oOff] += v * kernel[kOff];
          }
        }
      }
    }
  }
  if (bias) {
    const per = outS.reduce((a, b) => a * b, 1);
    for (let b = 0; b < B; b++)
      for (let o = 0; o < Cout; o++) for (let i = 0; i < per; i++) out[b * os[0] + o * os[1] + i] += bias[o];
  }
  return { data: out, shape: outShape };
}
