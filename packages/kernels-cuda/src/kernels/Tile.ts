/** Tile (also Mean's native gradient, dy / n broadcast): one native copy loop up to rank 8. */
import { Tile, type TileAttrs, type TileInputs } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { cpuKernel, nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function tile(args: NativeKernelArgs<TileInputs, TileAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { reps } = args.attrs;
  if (
    x.dtype !== 'float32' ||
    x.shape.length === 0 ||
    x.shape.length > 8 ||
    size(x.shape) === 0 ||
    reps.some((r) => r < 1)
  )
    return cpuKernel(Tile, args);
  count(Tile);
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const out = backend.allocFloat32(size(outShape));
  backend.addon.tile(backend.f32(x), Int32Array.from(x.shape), Int32Array.from(reps), out);
  return backend.makeNativeOutput(out, outShape);
}

export const tileConfig = nativeKernel(Tile, tile);
