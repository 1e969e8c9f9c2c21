/**
 * Static check: is a stack of layers exactly equivariant under the symmetries
 * of the grid (D4 in 2D, the 48 cube symmetries in 3D, the flip in 1D)?
 *
 * Exactness needs all of the following (a layer that misses one is reported):
 *  - symmetric kernels: GMR kernels (GMRConv*, and the harmonic and steerable
 *    GMR convs, whose outputs D4 turns as well as moves) with an odd size (an even GMR kernel is
 *    centred on tap k/2, not on the kernel centre), pooling windows, 1×1
 *    convs and pointwise layers; a plain k×k conv (k > 1) is not symmetric;
 *  - the same kernel size / stride / dilation / padding on every axis (90°
 *    rotations and transposes swap the axes);
 *  - a mirror-symmetric window grid on every axis. Windows start at
 *    o·s − pBefore and span e = d(k−1)+1 taps; mirroring maps window o onto
 *    window Lo−1−o iff pAfter − pBefore = (L + pBefore + pAfter − e) mod s.
 *    So 'same' with stride 2 on an even size (padding (0, 1) for odd k) and a
 *    stride that leaves (L + pBefore + pAfter − e) mod s rows unused on one
 *    side (e.g. a 2×2 pool on an odd size) break it;
 *  - no dense layer on a flattened spatial map (its weights see positions);
 *    global pooling makes the output invariant.
 * The check walks the spatial size through the stack and reports every
 * violation with the layer index, what it is and why.
 */
import type { DataFormat } from '../ops/attrs.js';
import { normalizeDataFormat } from '../ops/gmr_conv_ops.js';
import { gmrConvAxis, samePads } from '../kernel/conv_info.js';
import { invalid } from '../utils/errors.js';

type Ints = number | number[];
type Padding = 'same' | 'valid' | 'causal' | number | number[] | Array<[number, number]>;

interface Common {
  /** Shown in the reasons. */
  name?: string;
}
interface ConvLike extends Common {
  kernelSize: Ints;
  strides?: Ints;
  padding?: Padding;
  dilation?: Ints;
  /** Aliases of `dilation` (tfjs, GMR op names). */
  dilationRate?: Ints;
  dilations?: Ints;
  /** Any PyTorch mode: zeros, reflect, replicate and circular are all symmetric. */
  paddingMode?: string;
}
interface TransposedLike extends ConvLike {
  outputPadding?: Ints;
}

/** Plain descriptions of layers, in stack order. */
export type LayerSpec =
  | ({ type: 'gmrConv' } & ConvLike)
  | ({ type: 'conv' } & ConvLike)
  | ({ type: 'gmrConvTranspose' } & TransposedLike)
  | ({ type: 'convTranspose' } & TransposedLike)
  | ({ type: 'avgPool' | 'maxPool'; poolSize: Ints; strides?: Ints; padding?: Padding } & Common)
  | ({ type: 'globalPool' } & Common)
  | ({ type: 'pointwise' } & Common)
  | ({ type: 'flatten' } & Common)
  | ({ type: 'dense' } & Common)
  | ({ type: 'zeroPadding'; padding: Ints | Array<[number, number]> } & Common)
  | ({ type: 'cropping'; cropping: Ints | Array<[number, number]> } & Common)
  | ({ type: 'upsample'; size: Ints; interpolation?: 'nearest' | 'bilinear' } & Common);

/** What the checker reads from a tfjs layer (duck-typed, so no tfjs-layers import is needed). */
export interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  name?: string;
  /** Present on nested models. */
  layers?: LayerLike[];
  inboundNodes?: Array<{ inboundLayers?: LayerLike[] }>;
}
export interface ModelLike {
  layers: LayerLike[];
  inputs?: Array<{ shape: Array<number | null> }>;
}

export interface ExactnessOptions {
  /** Layout of the data (default 'channelsLast'); a Dense on a non-flattened map is pointwise only for channelsLast. */
  dataFormat?: DataFormat | string;
}

export interface ExactnessReport {
  /** Exactly equivariant under every symmetry of the grid (D4 / cube / flip). */
  exact: boolean;
  /** Exact, and no spatial extent is left (global pooling, or a 1×1 map): the output is invariant. */
  invariant: boolean;
  /** One line per violation: layer index, what, why. Empty when exact. */
  reasons: string[];
  /** Remarks that do not break exactness (e.g. a Dense used pointwise). */
  notes: string[];
  /** Spatial size after the stack ([] once flattened or globally pooled). */
  outputSize: number[];
  group: 'flip' | 'D4' | 'cube' | 'hyperoctahedral';
}

interface State {
  /** null once the spatial axes are gone. */
  size: number[] | null;
  /** Layer index of a flatten that turned a map larger than 1×1 into a vector. */
  flattenedAt: string | null;
  flattenedSize: number[] | null;
}

type Ctx = {
  reasons: string[];
  notes: string[];
  fmt: DataFormat;
};

const AXIS_NAMES: Record<number, string[]> = { 1: ['L'], 2: ['H', 'W'], 3: ['D', 'H', 'W'] };
const axisName = (n: number, a: number) => (AXIS_NAMES[n] ?? [])[a] ?? `axis${a}`;
const fmtSize = (s: number[]) => s.join('×');

class SpecError extends Error {}

function tuple(label: string, param: string, v: unknown, n: number, fallback?: number): number[] {
  if (v == null && fallback !== undefined) return new Array(n).fill(fallback);
  if (typeof v === 'number' && Number.isInteger(v)) return new Array(n).fill(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    if (v.length === n) return v.slice() as number[];
    if (v.length === 1) return new Array(n).fill(v[0]);
  }
  throw new SpecError(`${label}: \`${param}\` must be an integer or ${n} integers, got ${JSON.stringify(v)}`);
}

function allEqual(xs: number[]): boolean {
  return xs.every((x) => x === xs[0]);
}

/** (before, after) per axis for a forward window op, or a message for an unsupported spec. */
function resolvePads(
  label: string,
  padding: unknown,
  size: number[],
  k: number[],
  s: number[],
  d: number[],
): Array<[number, number]> {
  const n = size.length;
  if (padding == null || padding === 'valid') return size.map(() => [0, 0]);
  if (padding === 'same') return size.map((len, a) => samePads(len, k[a], s[a], d[a]));
  if (padding === 'causal') return size.map((_, a) => [d[a] * (k[a] - 1), 0]);
  if (typeof padding === 'number') return size.map(() => [padding, padding]);
  if (Array.isArray(padding) && padding.length === n) {
    if (padding.every((p) => typeof p === 'number')) return (padding as number[]).map((p) => [p, p]);
    if (padding.every((p) => Array.isArray(p) && p.length === 2))
      return (padding as Array<[number, number]>).map((p) => [p[0], p[1]]);
  }
  throw new SpecError(
    `${label}: \`padding\` must be 'same', 'valid', a number, ${n} numbers or ${n} [before, after] pairs, got ${JSON.stringify(padding)}`,
  );
}

/** Same parameters on every axis, else 90° rotations / transposes see a different layer. */
function checkIsotropic(ctx: Ctx, label: string, n: number, params: Record<string, number[]>, pads?: unknown): void {
  if (n < 2) return;
  const bad = Object.entries(params).filter(([, v]) => !allEqual(v));
  if (Array.isArray(pads) && pads.length === n) {
    const keys = pads.map((p) => JSON.stringify(typeof p === 'number' ? [p, p] : p));
    if (!keys.every((x) => x === keys[0])) bad.push(['padding', []]);
  }
  if (bad.length > 0) {
    const what = bad
      .map(([k, v]) => (v.length ? `${k} [${v.join(', ')}]` : `padding ${JSON.stringify(pads)}`))
      .join(', ');
    ctx.reasons.push(
      `${label}: ${what} differ between axes — 90° rotations and transposes swap the axes, so the layer must treat them alike`,
    );
  }
}

/**
 * Walks one window op (conv / pool) along every axis: output size, and a
 * reason for each axis whose window grid is not mirror-symmetric.
 */
function windowOp(
  ctx: Ctx,
  label: string,
  size: number[],
  k: number[],
  s: number[],
  d: number[],
  padding: unknown,
  kind: 'conv' | 'pool',
): number[] {
  const n = size.length;
  const pads = resolvePads(label, padding, size, k, s, d);
  checkIsotropic(
    ctx,
    label,
    n,
    kind === 'pool' ? { poolSize: k, strides: s } : { kernelSize: k, strides: s, dilation: d },
    padding,
  );
  return size.map((len, a) => {
    const [pb, pa] = pads[a];
    const e = d[a] * (k[a] - 1) + 1;
    const t = len + pb + pa - e;
    if (t < 0) {
      throw new SpecError(
        `${label}: axis ${axisName(n, a)} of size ${len} with padding (${pb}, ${pa}) is smaller than the ${kind === 'pool' ? 'pool window' : 'dilated kernel'} (${e})`,
      );
    }
    const rem = t % s[a];
    if (pa - pb !== rem) {
      const parts: string[] = [];
      if (pb !== pa) {
        const why =
          padding === 'same'
            ? ` ('same' with stride ${s[a]} on size ${len})`
            : padding === 'causal'
              ? " ('causal')"
              : '';
        parts.push(`asymmetric padding (${pb}, ${pa})${why}`);
      }
      if (rem !== 0) {
        const formula = `(${len} + ${pb} + ${pa} − ${d[a]}·(${k[a]}−1) − 1) % ${s[a]} = ${rem}`;
        const oddPool =
          kind === 'pool' && s[a] === 2 && len % 2 === 1 && pb === 0 && pa === 0
            ? ` (a stride-2 pool on the odd size ${len})`
            : '';
        parts.push(
          `stride ${s[a]} samples an asymmetric grid${oddPool}: ${formula} ≠ 0, so ${rem} row(s) at the far end only are never covered`,
        );
      }
      ctx.reasons.push(
        `${label}: axis ${axisName(n, a)} (size ${len}): ${parts.join(' and ')} — the windows are not placed symmetrically about the centre, so a rotated/flipped input is sampled on a shifted grid`,
      );
    }
    return gmrConvAxis(len, k[a], s[a], d[a], pads[a]).outLength;
  });
}

/** Transposed conv: full output (L−1)s + e cropped by (before, after); exact iff the crop is symmetric. */
function transposedOp(
  ctx: Ctx,
  label: string,
  size: number[],
  k: number[],
  s: number[],
  d: number[],
  padding: unknown,
  outputPadding: number[],
): number[] {
  const n = size.length;
  checkIsotropic(ctx, label, n, { kernelSize: k, strides: s, dilation: d, outputPadding }, padding);
  return size.map((len, a) => {
    const full = (len - 1) * s[a] + d[a] * (k[a] - 1) + 1;
    const spec =
      padding === 'same'
        ? 'same'
        : padding == null || padding === 'valid'
          ? 'valid'
          : resolvePads(label, padding, size, k, s, d)[a];
    // The op's geometry (tfjs 'same': output L·s, crop split floor/ceil); `after` < 0 when the output outgrows the full one.
    const { outLength: out, pads } = gmrConvAxis(len, k[a], s[a], d[a], spec, true, outputPadding[a]);
    const before = pads[0];
    const after = full - before - out;
    if (before !== after) {
      ctx.reasons.push(
        `${label}: axis ${axisName(n, a)} (size ${len}): the transposed conv keeps [${before}, ${full - after}) of its full output of length ${full} (cropped ${before} before, ${after} after${outputPadding[a] ? `, outputPadding ${outputPadding[a]}` : ''}) — an asymmetric crop shifts the grid under flips/rotations`,
      );
    }
    if (out < 1) throw new SpecError(`${label}: axis ${axisName(n, a)}: output size ${out} < 1`);
    return out;
  });
}

function convParams(label: string, spec: ConvLike, n: number) {
  const k = tuple(label, 'kernelSize', spec.kernelSize, n);
  const s = tuple(label, 'strides', spec.strides, n, 1);
  const d = tuple(label, 'dilation', spec.dilation ?? spec.dilationRate ?? spec.dilations, n, 1);
  return { k, s, d };
}

/** Advances `st` through one layer spec, appending reasons/notes. */
function step(ctx: Ctx, i: string, spec: LayerSpec, st: State): State {
  const label = `layer ${i}${spec.name ? ` "${spec.name}"` : ''} (${spec.type})`;
  const size = st.size;
  const n = size?.length ?? 0;
  const noSpatial = (what: string): State => {
    ctx.notes.push(`${label}: ${what} after the spatial axes are gone: nothing to check`);
    return st;
  };
  switch (spec.type) {
    case 'gmrConv':
    case 'conv':
    case 'gmrConvTranspose':
    case 'convTranspose': {
      if (!size) return noSpatial('a convolution');
      const { k, s, d } = convParams(label, spec, n);
      const taps = k.reduce((a, b) => a * b, 1);
      if (spec.type === 'conv' || spec.type === 'convTranspose') {
        if (taps > 1) {
          ctx.reasons.push(
            `${label}: plain convolution with a ${fmtSize(k)} kernel — its learned weights have no rotation/reflection symmetry, so it does not commute with the group (use a GMR conv; 1×1 convs are fine)`,
          );
        }
      } else {
        const even = k.filter((x) => x % 2 === 0);
        if (even.length > 0) {
          ctx.reasons.push(
            `${label}: even kernel size ${fmtSize(k)} — GMR rings are centred on tap k/2, not on the kernel centre (k−1)/2, so the kernel is not symmetric under 90° rotations and flips (use an odd size)`,
          );
        } else if (!allEqual(k)) {
          ctx.reasons.push(
            `${label}: non-cubic kernel ${fmtSize(k)} — the rings are built from the first kernel axis, so the kernel is not symmetric under rotations`,
          );
        }
      }
      const out =
        spec.type === 'gmrConvTranspose' || spec.type === 'convTranspose'
          ? transposedOp(
              ctx,
              label,
              size,
              k,
              s,
              d,
              spec.padding,
              tuple(label, 'outputPadding', spec.outputPadding, n, 0),
            )
          : windowOp(ctx, label, size, k, s, d, spec.padding, 'conv');
      return { ...st, size: out };
    }
    case 'avgPool':
    case 'maxPool': {
      if (!size) return noSpatial('a pooling layer');
      const k = tuple(label, 'poolSize', spec.poolSize, n);
      // Default stride = pool size (tfjs and PyTorch).
      const s = spec.strides == null ? k : tuple(label, 'strides', spec.strides, n);
      return {
        ...st,
        size: windowOp(
          ctx,
          label,
          size,
          k,
          s,
          k.map(() => 1),
          spec.padding,
          'pool',
        ),
      };
    }
    case 'globalPool':
      return { ...st, size: null };
    case 'pointwise':
      return st;
    case 'flatten': {
      if (!size) return st;
      if (size.every((x) => x === 1)) return { ...st, size: null };
      return { size: null, flattenedAt: i, flattenedSize: size };
    }
    case 'dense': {
      if (st.flattenedAt != null) {
        ctx.reasons.push(
          `${label}: dense layer on the map of size ${fmtSize(st.flattenedSize ?? [])} flattened at layer ${st.flattenedAt} — its weights are tied to pixel positions, and a rotation/flip permutes them, so the output is not invariant (use global pooling before the dense layer)`,
        );
        return { ...st, flattenedAt: null, flattenedSize: null };
      }
      if (size) {
        if (ctx.fmt === 'channelsLast') {
          ctx.notes.push(`${label}: dense layer on a ${fmtSize(size)} map acts on the channel axis only (pointwise)`);
        } else {
          ctx.reasons.push(
            `${label}: dense layer on channelsFirst data of size ${fmtSize(size)} acts on the last spatial axis, not on the channels`,
          );
        }
      }
      return st;
    }
    case 'zeroPadding':
    case 'cropping': {
      if (!size) return noSpatial(spec.type);
      const raw = spec.type === 'zeroPadding' ? spec.padding : spec.cropping;
      const pairs = resolvePads(
        label,
        raw,
        size,
        size.map(() => 1),
        size.map(() => 1),
        size.map(() => 1),
      );
      const sign = spec.type === 'zeroPadding' ? 1 : -1;
      checkIsotropic(ctx, label, n, {}, raw);
      pairs.forEach(([b, a], ax) => {
        if (b !== a)
          ctx.reasons.push(
            `${label}: axis ${axisName(n, ax)}: asymmetric ${spec.type === 'zeroPadding' ? 'padding' : 'cropping'} (${b}, ${a}) — shifts the grid centre`,
          );
      });
      return { ...st, size: size.map((len, ax) => len + sign * (pairs[ax][0] + pairs[ax][1])) };
    }
    case 'upsample': {
      if (!size) return noSpatial('an upsampling layer');
      const f = tuple(label, 'size', spec.size, n);
      checkIsotropic(ctx, label, n, { size: f });
      if ((spec.interpolation ?? 'nearest') !== 'nearest') {
        ctx.reasons.push(
          `${label}: ${spec.interpolation} upsampling — tfjs resizes without half-pixel centres, which samples an asymmetric grid (nearest-neighbour upsampling by an integer factor is exact)`,
        );
      }
      return { ...st, size: size.map((len, ax) => len * f[ax]) };
    }
    default: {
      const t = (spec as { type?: unknown }).type;
      ctx.reasons.push(
        `${label.replace(/\(.*\)$/, `(${String(t)})`)}: unknown layer type ${JSON.stringify(t)} — cannot prove that it commutes with the group`,
      );
      return st;
    }
  }
}

// ---------------------------------------------------------------- tfjs models

const POINTWISE_CLASSES = new Set([
  'InputLayer',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'SpatialDropout3D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Masking',
  'Rescaling',
  'Identity',
]);

type Converted = { spec: LayerSpec } | { reason: string } | { nested: LayerLike[] };

function cfgAxis(cfg: Record<string, unknown>, key: string, def: number): number[] {
  const v = cfg[key] ?? def;
  return (Array.isArray(v) ? v : [v]) as number[];
}

/** Is every listed axis the channel axis (for the rank of the data)? */
function channelAxisOnly(axes: number[], rank: number, fmt: DataFormat): boolean {
  const channel = fmt === 'channelsLast' ? rank - 1 : 1;
  return axes.every((a) => (a < 0 ? rank + a : a) === channel);
}

/** Maps a tfjs layer (by class name and config) to a spec. */
function fromTfjsLayer(layer: LayerLike, n: number, fmt: DataFormat): Converted {
  const cls = layer.getClassName();
  let cfg: Record<string, unknown> = {};
  try {
    cfg = (layer.getConfig() ?? {}) as Record<string, unknown>;
  } catch {
    // Some custom layers cannot serialise their config; the class name still decides pointwise layers.
  }
  const name = (cfg.name as string | undefined) ?? layer.name;
  const rank = n + 2;
  if (Array.isArray(layer.layers) && layer.layers.length > 0) return { nested: layer.layers };
  const conv = {
    name,
    kernelSize: cfg.kernelSize as Ints,
    strides: cfg.strides as Ints | undefined,
    padding: cfg.padding as Padding | undefined,
    dilation: (cfg.dilationRate ?? cfg.dilation ?? cfg.dilations) as Ints | undefined,
    outputPadding: cfg.outputPadding as Ints | undefined,
    paddingMode: cfg.paddingMode as string | undefined,
  };
  if (cls.startsWith('GMRConv'))
    return { spec: { type: /Transpose/i.test(cls) ? 'gmrConvTranspose' : 'gmrConv', ...conv } };
  if (/^Conv[123]DTranspose$/.test(cls)) return { spec: { type: 'convTranspose', ...conv } };
  if (/^(Conv[123]D|DepthwiseConv2D|SeparableConv[12]D)$/.test(cls)) return { spec: { type: 'conv', ...conv } };
  if (/^(Average|Max)Pooling[123]D$/.test(cls)) {
    return {
      spec: {
        type: cls.startsWith('Max') ? 'maxPool' : 'avgPool',
        name,
        poolSize: cfg.poolSize as Ints,
        strides: (cfg.strides ?? undefined) as Ints | undefined,
        padding: cfg.padding as Padding,
      },
    };
  }
  if (/^Global(Average|Max)Pooling[123]D$/.test(cls)) return { spec: { type: 'globalPool', name } };
  if (cls === 'Flatten') return { spec: { type: 'flatten', name } };
  if (cls === 'Dense') return { spec: { type: 'dense', name } };
  if (/^ZeroPadding[123]D$/.test(cls)) return { spec: { type: 'zeroPadding', name, padding: cfg.padding as Ints } };
  if (/^Cropping[123]D$/.test(cls)) return { spec: { type: 'cropping', name, cropping: cfg.cropping as Ints } };
  if (/^UpSampling[123]D$/.test(cls))
    return {
      spec: {
        type: 'upsample',
        name,
        size: cfg.size as Ints,
        interpolation: (cfg.interpolation as 'nearest' | 'bilinear') ?? 'nearest',
      },
    };
  if (cls === 'BatchNormalization' || cls === 'LayerNormalization') {
    const axes = cfgAxis(cfg, 'axis', -1);
    if (!channelAxisOnly(axes, rank, fmt))
      return {
        reason: `${cls} over axis ${JSON.stringify(cfg.axis)} normalises along a spatial axis, not only the channels`,
      };
    return { spec: { type: 'pointwise', name } };
  }
  if (cls === 'Concatenate') {
    if (!channelAxisOnly(cfgAxis(cfg, 'axis', -1), rank, fmt))
      return { reason: `Concatenate along axis ${JSON.stringify(cfg.axis)} joins maps along a spatial axis` };
    return { spec: { type: 'pointwise', name } };
  }
  if (cls === 'PReLU') {
    const shared = (cfg.sharedAxes as number[] | number | null | undefined) ?? [];
    const sharedList = Array.isArray(shared) ? shared : [shared];
    const spatial = Array.from({ length: n }, (_, a) => (fmt === 'channelsLast' ? 1 + a : 2 + a));
    if (!spatial.every((a) => sharedList.includes(a)))
      return { reason: 'PReLU without sharedAxes on every spatial axis learns one slope per pixel' };
    return { spec: { type: 'pointwise', name } };
  }
  // Core's other layers. A harmonic or steerable GMR conv has a GMR conv's geometry: its weighted rings map onto
  // themselves under D4 at odd sizes, and its outputs are invariant magnitudes or feature fields that D4 turns as
  // well as moving them (applyD4ToFields). The field layers act on each pixel's fields alone, in ways that commute
  // with turning them. Ring pooling averages over rings of pixels, which D4 maps onto themselves: a global pool.
  if (cls === 'GMRHarmonicConv2D' || cls === 'GMRSteerableConv2D') return { spec: { type: 'gmrConv', ...conv } };
  if (cls === 'FieldBatchNorm' || cls === 'FieldNonlinearity' || cls === 'FieldInvariants')
    return { spec: { type: 'pointwise', name } };
  if (cls === 'GMRRingPooling2D') return { spec: { type: 'globalPool', name } };
  if (POINTWISE_CLASSES.has(cls)) return { spec: { type: 'pointwise', name } };
  return { reason: `unknown layer class ${cls} — cannot prove that it commutes with the group` };
}

function isLayerLike(v: unknown): v is LayerLike {
  return !!v && typeof (v as LayerLike).getClassName === 'function' && typeof (v as LayerLike).getConfig === 'function';
}

/** Walks tfjs layers in order; uses each layer's inbound layers when present (functional models). */
function walkLayers(ctx: Ctx, layers: Array<LayerLike | LayerSpec>, start: State, prefix: string): State {
  const states = new Map<unknown, State>();
  let last = start;
  layers.forEach((layer, idx) => {
    const index = `${prefix}${idx}`;
    let input = last;
    if (isLayerLike(layer)) {
      const inbound = layer.inboundNodes?.[0]?.inboundLayers ?? [];
      const known = inbound.filter((l) => states.has(l)).map((l) => states.get(l) as State);
      if (inbound.length > 0) input = known.length > 0 ? known[0] : start;
      const sizes = new Set(known.map((s) => JSON.stringify(s.size)));
      if (sizes.size > 1)
        ctx.reasons.push(
          `layer ${index} "${layer.name ?? ''}" (${layer.getClassName()}): merges maps of different sizes ${[...sizes].join(', ')}`,
        );
      const n = input.size?.length ?? 2;
      const conv = fromTfjsLayer(layer, n, ctx.fmt);
      let out: State;
      if ('nested' in conv) {
        out = walkLayers(ctx, conv.nested, input, `${index}.`);
      } else if ('reason' in conv) {
        ctx.reasons.push(`layer ${index} "${layer.name ?? ''}" (${layer.getClassName()}): ${conv.reason}`);
        out = input;
      } else {
        out = runStep(ctx, index, conv.spec, input, layer.getClassName());
      }
      states.set(layer, out);
      last = out;
    } else {
      last = runStep(ctx, index, layer, input);
    }
  });
  return last;
}

function runStep(ctx: Ctx, index: string, spec: LayerSpec, st: State, className?: string): State {
  if (!spec || typeof spec !== 'object' || typeof (spec as { type?: unknown }).type !== 'string') {
    ctx.reasons.push(`layer ${index}: not a layer spec (${JSON.stringify(spec)}) — cannot prove anything`);
    return st;
  }
  try {
    const before = ctx.reasons.length;
    const out = step(ctx, index, spec, st);
    if (className) {
      for (let r = before; r < ctx.reasons.length; r++)
        ctx.reasons[r] = ctx.reasons[r].replace(`(${spec.type})`, `(${className} → ${spec.type})`);
    }
    return out;
  } catch (e) {
    if (e instanceof SpecError) {
      ctx.reasons.push(e.message);
      return { ...st, size: null };
    }
    throw e;
  }
}

function inputSizeOf(model: ModelLike, fmt: DataFormat): number[] | null {
  const shape = model.inputs?.[0]?.shape;
  if (!shape || shape.length < 3) return null;
  const spatial = fmt === 'channelsLast' ? shape.slice(1, -1) : shape.slice(2);
  return spatial.every((x) => typeof x === 'number' && x > 0) ? (spatial as number[]) : null;
}

const GROUPS: Record<number, ExactnessReport['group']> = { 1: 'flip', 2: 'D4', 3: 'cube' };

/**
 * Checks whether `layers` (plain specs, or a tfjs LayersModel / list of tfjs
 * layers) is exactly equivariant for an input of spatial size `inputSize`
 * (a number = square 2D; [H, W]; [D, H, W]). For a model with a fixed input
 * shape, `inputSize` may be omitted.
 */
export function checkExactEquivariance(
  layers: ReadonlyArray<LayerSpec | LayerLike> | ModelLike,
  inputSize?: number | number[],
  options: ExactnessOptions = {},
): ExactnessReport {
  const fmt = normalizeDataFormat('checkExactEquivariance', options.dataFormat);
  const list: Array<LayerSpec | LayerLike> = Array.isArray(layers)
    ? (layers as Array<LayerSpec | LayerLike>)
    : ((layers as ModelLike)?.layers ?? null);
  if (!Array.isArray(list)) {
    invalid('checkExactEquivariance', 'layers', typeof layers, 'an array of layer specs or a tfjs LayersModel');
  }
  let size: number[] | null = null;
  if (typeof inputSize === 'number') size = [inputSize, inputSize];
  else if (Array.isArray(inputSize)) size = inputSize.slice();
  else if (!Array.isArray(layers)) size = inputSizeOf(layers as ModelLike, fmt);
  if (!size || size.length === 0 || !size.every((x) => Number.isInteger(x) && x > 0)) {
    invalid(
      'checkExactEquivariance',
      'inputSize',
      inputSize,
      'a positive integer or 1–3 positive integers (spatial size)',
    );
  }
  const ctx: Ctx = { reasons: [], notes: [], fmt };
  const st = walkLayers(ctx, list, { size, flattenedAt: null, flattenedSize: null }, '');
  if (st.flattenedAt != null) {
    ctx.notes.push(
      `the output is the map of size ${fmtSize(st.flattenedSize ?? [])} flattened at layer ${st.flattenedAt}: a rotation/flip permutes its entries (equivariant as a permutation, not invariant)`,
    );
  }
  const outputSize = st.size ?? [];
  const exact = ctx.reasons.length === 0;
  const invariant = exact && st.flattenedAt == null && outputSize.every((x) => x === 1);
  return {
    exact,
    invariant,
    reasons: ctx.reasons,
    notes: ctx.notes,
    outputSize,
    group: GROUPS[size.length] ?? 'hyperoctahedral',
  };
}
