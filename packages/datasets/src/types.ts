/**
 * An in-memory labelled image set: images in NHWC order (row-major, channels last), one label per image.
 * uint8 images hold raw pixel values 0..255; float32 images hold whatever the producer documents
 * (the rotated protocols give values in [0, 1]).
 */
export interface ImageSet {
  images: Uint8Array | Float32Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Class names by label index, where the source has them. */
  classNames?: string[];
}

/** A dense n-dimensional array read from a file (IDX, .npy, HDF5). */
export interface NdArray {
  shape: number[];
  dtype: string;
  data:
    | Uint8Array
    | Int8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | Float32Array
    | Float64Array
    | BigInt64Array
    | BigUint64Array;
}
