/**
 * A PyTorch state dict in plain JS: name → {shape, dtype, data}, in the
 * PyTorch (NCHW, [out, in, …]) layouts. Readers for the two formats PyTorch
 * users have at hand: the oracle's JSON (`{state_dict: {name: {shape, dtype, data}}}`)
 * and `safetensors` (8-byte little-endian header length, JSON header, raw data).
 */
import { GMRValueError, describeValue, invalid } from '@gmr-conv/core';

export type StateDType = 'float32' | 'float64' | 'int64';

export interface StateTensor {
  shape: number[];
  dtype: StateDType;
  /** Row-major values (int64 converted to numbers). */
  data: Float32Array | Float64Array | number[];
}

export type StateDict = Map<string, StateTensor>;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function flatten(v: unknown, out: number[]): void {
  if (Array.isArray(v)) for (const e of v) flatten(e, out);
  else if (typeof v === 'number') out.push(v);
  else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  else throw new GMRValueError(`\`data\` must hold only numbers (nested lists allowed), got ${describeValue(v)}.`);
}

function normalizeDType(where: string, name: string, d: unknown): StateDType {
  const s = String(d ?? 'float64')
    .replace(/^torch\./, '')
    .toLowerCase();
  if (s === 'float32' || s === 'f32' || s === 'float') return 'float32';
  if (s === 'float64' || s === 'f64' || s === 'double') return 'float64';
  if (s === 'int64' || s === 'i64' || s === 'long') return 'int64';
  return invalid(`${where}: tensor '${name}'`, 'dtype', d, 'float32, float64 or int64');
}

/**
 * A state dict from parsed JSON: `{state_dict: {...}}` (the oracle's model files), `{model: {...}}`,
 * or the name → {shape, dtype, data} object itself. `data` may be flat or nested.
 */
export function stateDictFromJSON(json: unknown, where = 'stateDictFromJSON'): StateDict {
  if (json == null || typeof json !== 'object')
    invalid(where, 'json', json, 'an object (a state dict, or one wrapped as {state_dict: …} or {model: …})');
  // checkpoints wrap the state dict: {state_dict: …} (Lightning, the oracle) or {model: …} (many training scripts)
  const wrapped = json as Record<string, unknown>;
  const obj = (
    'state_dict' in wrapped
      ? wrapped.state_dict
      : wrapped.model != null && typeof wrapped.model === 'object' && !('data' in wrapped.model)
        ? wrapped.model
        : json
  ) as Record<string, unknown>;
  if (obj == null || typeof obj !== 'object')
    invalid(where, 'state_dict', obj, 'an object of name → {shape, dtype, data}');
  const sd: StateDict = new Map();
  for (const [name, entry] of Object.entries(obj)) {
    if (entry == null || typeof entry !== 'object' || !('data' in (entry as object))) {
      throw new GMRValueError(
        `${where}: entry '${name}' must be {shape, dtype, data}, got ${describeValue(entry).slice(0, 80)}.`,
      );
    }
    const e = entry as { shape?: unknown; dtype?: unknown; data: unknown };
    const data: number[] = [];
    try {
      flatten(e.data, data);
    } catch (err) {
      throw new GMRValueError(`${where}: entry '${name}': ${(err as Error).message.slice(0, 120)}`);
    }
    const shape = e.shape == null ? [data.length] : (e.shape as number[]);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      invalid(`${where}: entry '${name}'`, 'shape', e.shape, 'a list of non-negative integers');
    }
    if (size(shape) !== data.length)
      throw new GMRValueError(
        `${where}: entry '${name}': \`data\` must hold ${size(shape)} values (shape [${shape.join(', ')}]), got ${data.length} values.`,
      );
    const dtype = normalizeDType(where, name, e.dtype);
    sd.set(name, {
      shape: [...shape],
      dtype,
      data: dtype === 'int64' ? data : dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data),
    });
  }
  return sd;
}

const ST_DTYPES: Record<string, { dtype: StateDType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
};

/** Parses a `.safetensors` file (F32, F64 and I64 tensors). `where` names the file in errors. */
export function readSafetensors(bytes: ArrayBufferView | ArrayBuffer, where = 'safetensors'): StateDict {
  // any view (a Node Buffer is one into a shared pool): read through its own offset and length
  const u8 = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  if (u8.byteLength < 8)
    throw new GMRValueError(
      `${where}: ${u8.byteLength} bytes is too short for a safetensors file (needs an 8-byte header length)`,
    );
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(u8.byteLength - 8)) {
    throw new GMRValueError(
      `${where}: header length ${headerLen} exceeds the ${u8.byteLength - 8} bytes after it (truncated or not a safetensors file)`,
    );
  }
  const n = Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (err) {
    throw new GMRValueError(`${where}: the ${n}-byte header is not valid JSON (${(err as Error).message})`);
  }
  if (header == null || typeof header !== 'object' || Array.isArray(header))
    throw new GMRValueError(`${where}: the header must be a JSON object, got ${describeValue(header)}.`);
  const dataStart = 8 + n;
  const dataLen = u8.byteLength - dataStart;
  const sd: StateDict = new Map();
  const spans: { name: string; start: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = info as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const t = ST_DTYPES[e?.dtype ?? ''];
    if (!t) invalid(`${where}: tensor '${name}'`, 'dtype', e?.dtype, 'F32, F64 or I64');
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0))
      invalid(`${where}: tensor '${name}'`, 'shape', e.shape, 'a list of non-negative integers');
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((v) => Number.isInteger(v) && v >= 0) ||
      off[1] < off[0]
    ) {
      invalid(`${where}: tensor '${name}'`, 'data_offsets', off, 'two byte offsets [begin, end] with 0 ≤ begin ≤ end');
    }
    const count = size(e.shape);
    if (off[1] - off[0] !== count * t.bytes) {
      throw new GMRValueError(
        `${where}: tensor '${name}' (${e.dtype} [${e.shape}]) needs ${count * t.bytes} bytes, data_offsets give ${off[1] - off[0]}`,
      );
    }
    if (off[1] > dataLen)
      throw new GMRValueError(
        `${where}: tensor '${name}' ends at byte ${off[1]} of a ${dataLen}-byte data section (file truncated?)`,
      );
    spans.push({ name, start: off[0], end: off[1] });
    // a copy (aligned, independent of the file buffer); not u8.slice, which on a Node Buffer is a view into a shared pool
    const raw = new Uint8Array(u8.subarray(dataStart + off[0], dataStart + off[1]));
    const dv = new DataView(raw.buffer);
    let data: StateTensor['data'];
    if (t.dtype === 'float32') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    } else if (t.dtype === 'float64') {
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat64(8 * i, true);
    } else {
      data = new Array<number>(count);
      for (let i = 0; i < count; i++) data[i] = Number(dv.getBigInt64(8 * i, true));
    }
    sd.set(name, { shape: [...e.shape], dtype: t.dtype, data });
  }
  // two tensors sharing bytes means a corrupt (or crafted) header: writers lay tensors out one after another
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1];
    const b = spans[i];
    if (b.start < a.end && b.end > b.start)
      throw new GMRValueError(
        `${where}: tensors '${a.name}' (bytes ${a.start}..${a.end}) and '${b.name}' (bytes ${b.start}..${b.end}) overlap in the data section`,
      );
  }
  return sd;
}

/** Writes a state dict as a `.safetensors` file (F32 / F64 / I64), keys in map order. */
export function writeSafetensors(sd: StateDict, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: { t: StateTensor; bytes: number }[] = [];
  for (const [name, t] of sd) {
    const bytes = t.dtype === 'float32' ? 4 : 8;
    const len = size(t.shape) * bytes;
    header[name] = {
      dtype: t.dtype === 'float32' ? 'F32' : t.dtype === 'float64' ? 'F64' : 'I64',
      shape: t.shape,
      data_offsets: [offset, offset + len],
    };
    offset += len;
    parts.push({ t, bytes });
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const { t, bytes } of parts) {
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === 'float32') dv.setFloat32(p, t.data[i], true);
      else if (t.dtype === 'float64') dv.setFloat64(p, t.data[i], true);
      else dv.setBigInt64(p, BigInt(Math.round(t.data[i])), true);
      p += bytes;
    }
  }
  return out;
}
