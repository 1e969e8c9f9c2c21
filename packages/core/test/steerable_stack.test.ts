import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyD4,
  D4_ELEMENTS,
  equivarianceError,
  FieldBatchNorm,
  FieldInvariants,
  fieldInvariantChannels,
  FieldNonlinearity,
  GMRConv2D,
  GMRSteerableConv2D,
  layerEquivarianceError,
  rotateBilinear,
  turnFields,
  type Fields,
} from '../src/index.js';
import { relMax } from './helpers/steerable_reference.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

/** A smooth random image: white noise blurred by a Gaussian of σ = 2 pixels (a 9×9 kernel). */
function smoothImage(size: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const g = Array.from({ length: 9 }, (_, i) => Math.exp(-((i - 4) ** 2) / 8));
    const k = tf.tensor4d(
      g.flatMap((a) => g.map((b) => a * b)),
      [9, 9, 1, 1],
    );
    return tf.conv2d(tf.randomNormal([1, size, size, 1], 0, 1, 'float32', seed), k, 1, 'same');
  });
}

describe('a steerable stack', () => {
  it('conv→BN→nonlinearity→avgpool→conv→BN→nonlinearity→invariants→GAP→dense gives D4-invariant logits at 28×28', () => {
    const f1: Fields = [4, 3, 2];
    const f2: Fields = [4, 3, 3];
    const model = tfjs.sequential({
      layers: [
        new GMRSteerableConv2D({ fields: f1, kernelSize: 5, inputShape: [28, 28, 1] }),
        new FieldBatchNorm({ fields: f1 }),
        new FieldNonlinearity({ fields: f1 }),
        tfjs.layers.averagePooling2d({ poolSize: 2 }),
        new GMRSteerableConv2D({ fields: f2, inputFields: f1, kernelSize: 5 }),
        new FieldBatchNorm({ fields: f2 }),
        new FieldNonlinearity({ fields: f2, biasInitializer: { className: 'Constant', config: { value: -0.2 } } }),
        new FieldInvariants({ fields: f2 }),
        tfjs.layers.globalAveragePooling2d({}),
        tfjs.layers.dense({ units: 10 }),
      ],
    });
    expect(model.outputShape).toEqual([null, 10]);
    expect(model.layers[7]!.outputShape).toEqual([null, 14, 14, fieldInvariantChannels(f2)]);
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 7);
    // One training pass moves the BN statistics off their initial values, so inference uses non-trivial ones.
    model.apply(x, { training: true });
    for (const training of [false, true]) {
      const y = model.apply(x, { training }) as tf.Tensor;
      for (const g of D4_ELEMENTS) {
        const yg = model.apply(applyD4(x, g), { training }) as tf.Tensor;
        expect(relMax(yg, y), `${g}, training ${training}`).toBeLessThan(1e-5);
      }
    }
    model.dispose();
  });

  it('45°: the steerable conv is nearly equivariant on a smooth input (error printed beside GMRConv2D)', () => {
    const x = smoothImage(33, 3);
    const fields: Fields = [4, 4, 4];
    // Seeded weights, so the printed figures are the same every run.
    const init = { className: 'RandomNormal', config: { mean: 0, stddev: 0.1, seed: 5 } };
    const steer = new GMRSteerableConv2D({ fields, kernelSize: 9, useBias: false, kernelInitializer: init });
    const iso = new GMRConv2D({ filters: 4, kernelSize: 9, padding: 'same', useBias: false, kernelInitializer: init });
    // Pixels whose 9×9 window stays inside the inscribed circle: beyond it the rotated input has zero corners,
    // which no rotation-equivariant filter can hide (order-2 responses of smooth input are small there).
    const radius = 11;
    // rotateBilinear's +45° is counter-clockwise on screen: −45° in the filters' φ = atan2(row, column) convention.
    const y1 = steer.apply(rotateBilinear(x, 45)) as tf.Tensor;
    const y2 = turnFields(rotateBilinear(steer.apply(x) as tf.Tensor, 45), fields, -Math.PI / 4);
    const steerable = equivarianceError(y1, y2, { radius });
    const wrongTurn = equivarianceError(
      y1,
      turnFields(rotateBilinear(steer.apply(x) as tf.Tensor, 45), fields, Math.PI / 4),
      { radius },
    );
    const gmr = layerEquivarianceError((t) => iso.apply(t) as tf.Tensor, x, 45, { radius });
    console.log(
      `45° equivariance error (relL2, 33×33 smooth input, k = 9, radius 11): GMRSteerableConv2D [4,4,4] ${steerable.relL2.toExponential(3)}, GMRConv2D ${gmr.relL2.toExponential(3)}; turning the fields the wrong way: ${wrongTurn.relL2.toExponential(3)}`,
    );
    expect(steerable.relL2).toBeLessThan(0.05);
    expect(wrongTurn.relL2).toBeGreaterThan(10 * steerable.relL2);
    steer.dispose();
    iso.dispose();
  });
});
