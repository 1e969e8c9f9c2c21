/**
 * NumPy .npy arrays and .npz archives (a zip of .npy files, stored or deflated), as MedMNIST ships them.
 * The zip is read with fflate; .npy headers (versions 1.0, 2.0, 3.0) are parsed here.
 */
import { strToU8, unzipSync, zipSync } from 'fflate';
import { fail } from '../errors.js';
import { readBytes } from '../io.js';
import type { ImageSet, NdArray } from '../types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: string; size: number }> = {
  b1: { dtype: 'bool', size: 1 },
  u1: { dtype: 'uint8', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  u2: { dtype: 'uint16', size: 2 },
  i2: { dtype: 'int16', size: 2 },
  u4: { dtype: 'uint32', size: 4 },
  i4: { dtype: 'int32', size: 4 },
  u8: { dtype: 'uint64', size: 8 },
  i8: { dtype: 'int64', size: 8 },
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
};

/** Parses one .npy file. Booleans come back as uint8 0/1 (dtype 'bool'); C order always (Fortran order is transposed). */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NdArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m))
    fail(file, 'wrong magic number: .npy files start with \\x93NUMPY');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(file, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    fail(file, `unsupported .npy format version ${major}.${bytes[7]} (1.0, 2.0 and 3.0 are read)`);
  }
  if (bytes.length < start + headerLen)
    fail(file, `truncated .npy header: needs ${start + headerLen} bytes, the file has ${bytes.length}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descrM = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortranM = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) fail(file, `corrupt .npy header: ${JSON.stringify(header.trim())}`);
  const type = DESCR[descrM[2]];
  if (!type) fail(file, `unsupported .npy dtype '${descrM[1]}${descrM[2]}' (allowed: bool, u1..u8, i1..i8, f4, f8)`);
  const bigEndian = descrM[1] === '>';
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) fail(file, `corrupt .npy shape (${shapeM[1]})`);
      return v;
    });
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const need = offset + n * type.size;
  if (bytes.length < need)
    fail(
      file,
      `truncated .npy data: shape [${shape.join(', ')}] of ${descrM[1]}${descrM[2]} needs ${need} bytes, the file has ${bytes.length}`,
    );
  let data: NdArray['data'];
  const le = !bigEndian;
  switch (type.dtype) {
    case 'bool':
    case 'uint8':
      data = bytes.slice(offset, need);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(offset, need).buffer);
      break;
    default: {
      const out = makeTyped(type.dtype, n);
      for (let i = 0; i < n; i++) {
        const o = offset + i * type.size;
        switch (type.dtype) {
          case 'uint16':
            out[i] = view.getUint16(o, le);
            break;
          case 'int16':
            out[i] = view.getInt16(o, le);
            break;
          case 'uint32':
            out[i] = view.getUint32(o, le);
            break;
          case 'int32':
            out[i] = view.getInt32(o, le);
            break;
          case 'uint64':
            (out as BigUint64Array)[i] = view.getBigUint64(o, le);
            break;
          case 'int64':
            (out as BigInt64Array)[i] = view.getBigInt64(o, le);
            break;
          case 'float32':
            out[i] = view.getFloat32(o, le);
            break;
          case 'float64':
            out[i] = view.getFloat64(o, le);
            break;
        }
      }
      data = out;
    }
  }
  if (fortranM[1] === 'True' && shape.length > 1) data = fortranToC(data, shape);
  return { shape, dtype: type.dtype, data };
}

function makeTyped(dtype: string, n: number): NdArray['data'] {
  switch (dtype) {
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint64':
      return new BigUint64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'float32':
      return new Float32Array(n);
    default:
      return new Float64Array(n);
  }
}

function fortranToC(data: NdArray['data'], shape: number[]): NdArray['data'] {
  const n = data.length;
  const out = new (data.constructor as new (n: number) => NdArray['data'])(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  // Walk the C-order output; the Fortran source index has strides 1, s0, s0·s1, ...
  const fStrides: number[] = [];
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStrides.push(s);
    s *= shape[d];
  }
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * fStrides[d];
    (out as unknown as number[])[i] = (data as unknown as number[])[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** CRC-32 (the zip / IEEE 802.3 polynomial 0xEDB88320, reflected), one table lookup per byte. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** name → CRC-32 from the zip's central directory (zip64 archives, as numpy writes for large arrays, included). */
function centralCrcs(bytes: Uint8Array, file: string): Map<string, number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(file, 'corrupt zip archive: no end-of-central-directory record');
  let count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if ((offset === 0xffffffff || count === 0xffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const z = Number(view.getBigUint64(eocd - 12, true));
    if (z + 56 > bytes.length || view.getUint32(z, true) !== 0x06064b50)
      fail(file, 'corrupt zip64 archive: bad zip64 end-of-central-directory record');
    count = Number(view.getBigUint64(z + 32, true));
    offset = Number(view.getBigUint64(z + 48, true));
  }
  const crcs = new Map<string, number>();
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50)
      fail(file, `corrupt zip archive: central directory entry ${k} is damaged`);
    const nameLen = view.getUint16(p + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    crcs.set(name, view.getUint32(p + 16, true));
    p += 46 + nameLen + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  return crcs;
}

/** The unzipper does not check CRCs: a flipped bit in a stored (uncompressed) member would load silently. */
function checkZipCrcs(bytes: Uint8Array, entries: Record<string, Uint8Array>, file: string): void {
  const crcs = centralCrcs(bytes, file);
  for (const [name, data] of Object.entries(entries)) {
    const want = crcs.get(name);
    if (want === undefined) fail(file, `corrupt zip archive: member '${name}' is missing from the central directory`);
    const got = crc32(data);
    if (got !== want)
      fail(
        file,
        `member '${name}' is damaged: CRC-32 ${got.toString(16).padStart(8, '0')}, the archive says ${want.toString(16).padStart(8, '0')}`,
      );
  }
}

/** Parses a .npz archive into its arrays by name (the `.npy` suffix dropped). */
export function parseNpz(bytes: Uint8Array, file = '<npz>'): Record<string, NdArray> {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b)
    fail(file, 'wrong magic number: .npz files are zip archives starting with "PK"');
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    fail(file, `corrupt or truncated zip archive (${(e as Error).message})`);
  }
  checkZipCrcs(bytes, entries, file);
  const out: Record<string, NdArray> = {};
  for (const [name, data] of Object.entries(entries)) {
    if (!name.endsWith('.npy')) continue;
    out[name.slice(0, -4)] = parseNpy(data, `${file}:${name}`);
  }
  if (Object.keys(out).length === 0) fail(file, 'the archive holds no .npy arrays');
  return out;
}

/** Reads a .npz file from disk. */
export async function readNpz(file: string): Promise<Record<string, NdArray>> {
  return parseNpz(await readBytes(file), file);
}

/** Encodes an array as .npy (version 1.0, little-endian, C order): for fixtures and exports. */
export function encodeNpy(shape: number[], data: Uint8Array | Float32Array | Int32Array | Float64Array): Uint8Array {
  const descr =
    data instanceof Uint8Array
      ? '|u1'
      : data instanceof Float32Array
        ? '<f4'
        : data instanceof Int32Array
          ? '<i4'
          : '<f8';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(strToU8(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

/** Encodes arrays as a .npz archive (deflated when `compress`, as numpy.savez_compressed). */
export function encodeNpz(
  arrays: Record<string, { shape: number[]; data: Uint8Array | Float32Array | Int32Array | Float64Array }>,
  compress = false,
): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, a] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(a.shape, a.data);
  return zipSync(files, { level: compress ? 6 : 0 });
}

/**
 * A MedMNIST split from its .npz ({split}_images [N, H, W] or [N, H, W, C] uint8, {split}_labels [N, 1] or [N]).
 * Multi-label sets ([N, L] with L > 1) are refused: this returns single-label classification data.
 */
export function medmnistSplit(
  arrays: Record<string, NdArray>,
  split: 'train' | 'val' | 'test',
  file = '<npz>',
): ImageSet {
  const images = arrays[`${split}_images`];
  const labels = arrays[`${split}_labels`];
  if (!images) fail(file, `no '${split}_images' array (found: ${Object.keys(arrays).join(', ')})`);
  if (!labels) fail(file, `no '${split}_labels' array (found: ${Object.keys(arrays).join(', ')})`);
  if (images.dtype !== 'uint8' || (images.shape.length !== 3 && images.shape.length !== 4)) {
    fail(
      file,
      `'${split}_images' must be uint8 [N, H, W] or [N, H, W, C]; found ${images.dtype} [${images.shape.join(', ')}]`,
    );
  }
  const [count, height, width] = images.shape;
  const channels = images.shape.length === 4 ? images.shape[3] : 1;
  if (labels.shape[0] !== count)
    fail(
      file,
      `mismatched counts: ${labels.shape[0]} labels in '${split}_labels' for ${count} images in '${split}_images'`,
    );
  if (labels.shape.length > 2 || (labels.shape.length === 2 && labels.shape[1] !== 1)) {
    fail(
      file,
      `'${split}_labels' has shape [${labels.shape.join(', ')}]: multi-label data is not a single-label classification set`,
    );
  }
  const lab = new Int32Array(count);
  for (let i = 0; i < count; i++) lab[i] = Number(labels.data[i]);
  return { images: images.data as Uint8Array, labels: lab, count, height, width, channels };
}
