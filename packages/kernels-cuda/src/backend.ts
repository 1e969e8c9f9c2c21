/**
 * NativeBackend: the tfjs cpu backend's storage and kernels, with tensor data that native kernels allocate in
 * native memory (an external ArrayBuffer per tensor, freed as soon as the last tensor using it is disposed).
 * Every cpu kernel reads and writes these Float32Array views unchanged (the fallback), and native kernels read
 * cpu-made JS arrays unchanged, so no op needs a copy on the way in or out.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { recordingGradients } from '@gmr-conv/core/kernel';
import type { NativeAddon } from './addon.js';

type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];
type DataId = object;
type Storage = {
  get(id: DataId): { values?: BackendValues; dtype: tf.DataType; refCount: number };
  has(id: DataId): boolean;
};

export class NativeBackend extends MathBackendCPU {
  /** Native buffers → number of data entries holding a view of them. */
  private readonly users = new Map<ArrayBuffer, number>();
  /**
   * GMR ring sums R of the forward calls made under a gradient tape, kept for the filter gradients of the same calls
   * (keyed by x's data id, then by the call's geometry and masks: a harmonic layer runs two or three GMR ops on one x;
   * freed when used or when x is disposed).
   */
  private readonly ringCache = new Map<DataId, Map<string, Float32Array>>();
  /**
   * Freed native buffers kept as they are (ArrayBuffer and all) for the next allocation of the same byte length. Each
   * new external ArrayBuffer costs Node a Buffer record whose finalizer runs only from the event loop (setImmediate),
   * so a training loop that never yields to it grew by those records every step (issue 16); reusing the buffers makes
   * a step allocate nothing new once warm, and skips the addon call. Up to GMR_NATIVE_POOL_MB (default 512) of them;
   * when full, the byte lengths used longest ago make room (spareUse).
   */
  private readonly spare = new Map<number, ArrayBuffer[]>();
  private spareBytes = 0;
  private spareCount = 0;
  private readonly spareLimit = Number(process.env.GMR_NATIVE_POOL_MB ?? 512) * 2 ** 20;
  /**
   * Per byte length, when a buffer of it was last taken or given back. A full pool makes room by freeing the spares of
   * the length used longest ago: after training, the pool was full of the training step's sizes and refused every
   * buffer of an evaluation's other sizes, which then came from the addon and went back to it each batch (and V8
   * collected garbage for the external memory each time): the main job's steerable evaluation ran at half speed.
   */
  private readonly spareUse = new Map<number, number>();
  private useTick = 0;

  /** True while tf.grads / an optimizer records a tape (a backward pass will follow): core's one reader of the engine's state. */
  recordingGradients(): boolean {
    return recordingGradients();
  }

  keepRingSums(x: DataId, key: string, r: Float32Array): void {
    let byKey = this.ringCache.get(x);
    if (!byKey) this.ringCache.set(x, (byKey = new Map()));
    const old = byKey.get(key);
    if (old) this.freeScratch(old);
    byKey.set(key, r);
  }

  /** The kept ring sums of x for `key` (the caller frees them with freeScratch), or null. */
  takeRingSums(x: DataId, key: string): Float32Array | null {
    const byKey = this.ringCache.get(x);
    const r = byKey?.get(key);
    if (!byKey || !r) return null;
    byKey.delete(key);
    if (byKey.size === 0) this.ringCache.delete(x);
    return r;
  }

  private dropRingSums(x: DataId): void {
    const byKey = this.ringCache.get(x);
    if (!byKey) return;
    this.ringCache.delete(x);
    for (const r of byKey.values()) this.freeScratch(r);
  }

  constructor(
    readonly addon: NativeAddon,
    readonly kind: 'native' | 'cuda',
  ) {
    super();
    // The cpu backend warns once that tfjs-node exists; that advice does not apply here.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  private get storage(): Storage {
    return (this as unknown as { data: Storage }).data;
  }

  private track(values: unknown): void {
    const buf = (values as Float32Array | undefined)?.buffer;
    if (buf instanceof ArrayBuffer && this.users.has(buf)) this.users.set(buf, this.users.get(buf)! + 1);
  }

  private untrack(values: unknown): void {
    const buf = (values as Float32Array | undefined)?.buffer;
    if (!(buf instanceof ArrayBuffer)) return;
    const n = this.users.get(buf);
    if (n === undefined) return;
    if (n > 1) this.users.set(buf, n - 1);
    else this.giveBack(buf);
  }

  /** A buffer no tensor uses any more: kept for reuse (spare) while the budget allows, else freed natively. */
  private giveBack(buf: ArrayBuffer): void {
    this.users.delete(buf);
    const bytes = buf.byteLength;
    if (bytes > 0 && bytes <= this.spareLimit) this.makeRoom(bytes);
    if (bytes > 0 && this.spareBytes + bytes <= this.spareLimit) {
      let list = this.spare.get(bytes);
      if (!list) this.spare.set(bytes, (list = []));
      list.push(buf);
      this.spareBytes += bytes;
      this.spareCount++;
      this.spareUse.set(bytes, ++this.useTick);
    } else this.addon.release(buf);
  }

  /** Frees spares of the byte lengths used longest ago (never `bytes`' own) until `bytes` more fit in the pool. */
  private makeRoom(bytes: number): void {
    while (this.spareBytes + bytes > this.spareLimit) {
      let victim = -1;
      let oldest = Infinity;
      for (const [size, tick] of this.spareUse)
        if (size !== bytes && tick < oldest && this.spare.get(size)?.length) [victim, oldest] = [size, tick];
      if (victim < 0) return;
      const list = this.spare.get(victim)!;
      while (list.length && this.spareBytes + bytes > this.spareLimit) {
        this.addon.release(list.pop()!);
        this.spareBytes -= victim;
        this.spareCount--;
      }
      if (!list.length) {
        this.spare.delete(victim);
        this.spareUse.delete(victim);
      }
    }
  }

  /** A Float32Array of `size` elements in native memory (not yet owned by a tensor: pass it to makeTensorInfo / makeOutput). */
  allocFloat32(size: number): Float32Array {
    let buf = this.spare.get(size * 4)?.pop();
    if (buf) {
      this.spareBytes -= buf.byteLength;
      this.spareCount--;
      this.spareUse.set(buf.byteLength, ++this.useTick);
    } else buf = this.addon.alloc(size * 4);
    this.users.set(buf, 0);
    return new Float32Array(buf, 0, size);
  }

  /** Frees a buffer from allocFloat32 that no tensor took (scratch space). */
  freeScratch(a: Float32Array): void {
    const buf = a.buffer as ArrayBuffer;
    if (this.users.get(buf) === 0) this.giveBack(buf);
  }

  /** Spare buffers kept for reuse (counted by the addon as live): liveNativeBuffers reports them as cached. */
  spareBuffers(): { count: number; bytes: number } {
    return { count: this.spareCount, bytes: this.spareBytes };
  }

  /** Frees the spare buffers natively (then the addon's trimPool returns its cache to the system). */
  releaseSpares(): void {
    for (const list of this.spare.values()) for (const buf of list) this.addon.release(buf);
    this.spare.clear();
    this.spareUse.clear();
    this.spareBytes = 0;
    this.spareCount = 0;
  }

  /** A float32 tensor info over a native array from allocFloat32. */
  makeNativeOutput(values: Float32Array, shape: number[]): tf.TensorInfo {
    return this.makeTensorInfo(shape, 'float32', values);
  }

  /** float32 values of a tensor (a view, no copy, when it is already float32). */
  f32(t: tf.TensorInfo): Float32Array {
    const v = this.storage.get(t.dataId).values;
    if (v instanceof Float32Array) return v;
    return Float32Array.from(v as Int32Array);
  }

  /** int32 values of a tensor (a view, no copy, when it is already int32). */
  i32(t: tf.TensorInfo): Int32Array {
    const v = this.storage.get(t.dataId).values;
    if (v instanceof Int32Array) return v;
    return Int32Array.from(v as Float32Array);
  }

  /** Native buffers that hold tensor data now. */
  nativeBufferCount(): number {
    return this.users.size;
  }

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const id = super.write(values as never, shape, dtype);
    this.track(values);
    return id;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId as never, values as never, shape, dtype, refCount);
    this.track(values);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const s = this.storage;
    const values = s.has(dataId) ? s.get(dataId).values : undefined;
    const released = super.disposeData(dataId as never, force);
    if (values !== undefined && !s.has(dataId)) this.untrack(values);
    if (!s.has(dataId) && this.ringCache.size) this.dropRingSums(dataId);
    return released;
  }

  /** Reads return a copy of native data, so that what a caller keeps stays valid after the tensor is disposed. */
  override readSync(dataId: DataId): BackendValues {
    const v = super.readSync(dataId as never) as BackendValues;
    if (ArrayBuffer.isView(v) && this.users.has(v.buffer as ArrayBuffer)) return (v as Float32Array).slice();
    return v;
  }

  override dispose(): void {
    super.dispose();
    this.releaseSpares();
  }
}
