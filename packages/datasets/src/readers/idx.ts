/**
 * IDX files (MNIST, Fashion-MNIST): magic 00 00 <type> <ndims>, then ndims big-endian uint32 sizes, then the
 * data in big-endian order. Raw or gzip (detected by the magic number, so `.gz` names are optional).
 */
import { fail, invalidArg } from '../errors.js';
import { maybeGunzip, readBytes } from '../io.js';
import { checkLabelRange } from './labels.js';
import type { ImageSet, NdArray } from '../types.js';

const IDX_TYPES: Record<number, { dtype: string; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** Parses IDX bytes (already gunzipped or not: gzip is detected). `file` names the source in errors. */
export function parseIdx(raw: Uint8Array, file = '<idx>'): NdArray {
  const bytes = maybeGunzip(raw, file);
  if (bytes.length < 4) fail(file, `truncated IDX file: ${bytes.length} bytes, fewer than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(file, `wrong magic number: IDX files start with bytes 00 00, found ${hex(bytes[0])} ${hex(bytes[1])}`);
  }
  const type = IDX_TYPES[bytes[2]];
  if (!type)
    fail(file, `wrong magic number: unknown IDX data type byte ${hex(bytes[2])} (allowed 08, 09, 0b, 0c, 0d, 0e)`);
  const ndims = bytes[3];
  if (ndims < 1) fail(file, 'IDX header declares 0 dimensions');
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen)
    fail(file, `truncated IDX header: ${bytes.length} bytes, needs ${headerLen} for ${ndims} dimensions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const n = shape.reduce((a, b) => a * b, 1);
  const expected = headerLen + n * type.size;
  if (bytes.length < expected) {
    fail(file, `truncated IDX data: shape [${shape.join(', ')}] needs ${expected} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > expected) {
    fail(
      file,
      `IDX data longer than its header says: shape [${shape.join(', ')}] needs ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  let data: NdArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = bytes.slice(headerLen, expected);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(headerLen, expected).buffer);
      break;
    default: {
      const out =
        type.dtype === 'int16'
          ? new Int16Array(n)
          : type.dtype === 'int32'
            ? new Int32Array(n)
            : type.dtype === 'float32'
              ? new Float32Array(n)
              : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const o = headerLen + i * type.size;
        out[i] =
          type.dtype === 'int16'
            ? view.getInt16(o, false)
            : type.dtype === 'int32'
              ? view.getInt32(o, false)
              : type.dtype === 'float32'
                ? view.getFloat32(o, false)
                : view.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { shape, dtype: type.dtype, data };
}

/** Reads and parses an IDX file (raw or gzip). */
export async function readIdx(file: string): Promise<NdArray> {
  return parseIdx(await readBytes(file), file);
}

/**
 * Reads an IDX image file ([N, H, W] uint8) and its IDX label file ([N] uint8) into an ImageSet (channels 1).
 * Mismatched counts, wrong ranks or wrong types are errors naming the file.
 */
export async function readIdxImageSet(
  imagesFile: string,
  labelsFile: string,
  classNames?: string[],
): Promise<ImageSet> {
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  return idxToImageSet(images, labels, imagesFile, labelsFile, classNames);
}

/** Combines parsed IDX images and labels into an ImageSet, checking shapes and counts. */
export function idxToImageSet(
  images: NdArray,
  labels: NdArray,
  imagesFile = '<images>',
  labelsFile = '<labels>',
  classNames?: string[],
): ImageSet {
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    fail(
      imagesFile,
      `expected IDX images of type uint8 and shape [count, height, width]; found ${images.dtype} [${images.shape.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    fail(
      labelsFile,
      `expected IDX labels of type uint8 and shape [count]; found ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  }
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    fail(labelsFile, `mismatched counts: ${labels.shape[0]} labels for ${count} images in ${imagesFile}`);
  }
  const lab = Int32Array.from(labels.data as Uint8Array);
  if (classNames) checkLabelRange(labelsFile, lab, classNames.length);
  return { images: images.data as Uint8Array, labels: lab, count, height, width, channels: 1, classNames };
}

/** Encodes an array as an IDX file (for writing test fixtures and for exporting regenerated splits). */
export function encodeIdx(shape: number[], data: Uint8Array): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    invalidArg('encodeIdx', 'data.length', data.length, `${n}, the size of shape [${shape.join(', ')}]`);
  const out = new Uint8Array(4 + 4 * shape.length + n);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

function hex(b: number | undefined): string {
  return b === undefined ? '--' : b.toString(16).padStart(2, '0');
}
