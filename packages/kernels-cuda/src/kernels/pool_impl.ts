/** The addon's pooling geometry (RingGeom order, as for convolutions) from tfjs's Pool2DInfo: AvgPool and its gradient. */
import type { backend_util } from '@tensorflow/tfjs-core';

export function poolGeom(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    1,
    1,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    1,
    1,
    c.padInfo.top,
    c.padInfo.left,
    0,
  ]);
}
