import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRHarmonicConv2D, applyD4, D4_ELEMENTS, ringMasks, smoothedBasis } from '../src/index.js';

beforeAll(async () => {
  await tfjs.setBackend('cpu');
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** The dense kernels built tap by tap with atan2 (independent of the layer's rational forms). */
function denseHarmonicKernels(layer: GMRHarmonicConv2D): tf.Tensor4D {
  return tf.tidy(() => {
    const k = layer.kernelSize[0];
    const n = layer.numRings;
    const g = ringMasks([k, k]);
    const basis = smoothedBasis(tf.tensor2d(g.masks, [n, k * k]), layer.getWeights()[1]).arraySync(); // [n, K]
    const theta = layer.getWeights()[0].arraySync() as number[][][]; // [out, in, n]
    const [out, cin] = [theta.length, theta[0].length];
    const w = new Float32Array(k * k * cin * 2 * out);
    for (let row = 0; row < k; row++)
      for (let col = 0; col < k; col++) {
        const dy = row - (k - 1) / 2;
        const dx = col - (k - 1) / 2;
        const phi = Math.atan2(dy, dx);
        const r = Math.hypot(dx, dy);
        const [cm, sm] = r === 0 ? [0, 0] : [Math.cos(layer.order * phi), Math.sin(layer.order * phi)];
        for (let c = 0; c < cin; c++)
          for (let o = 0; o < out; o++) {
            let radial = 0;
            for (let i = 0; i < n; i++) radial += theta[o][c][i] * basis[i][row * k + col];
            const at = ((row * k + col) * cin + c) * 2 * out;
            w[at + o] = radial * cm;
            w[at + out + o] = radial * sm;
          }
      }
    return tf.tensor4d(w, [k, k, cin, 2 * out]);
  });
}

describe('GMRHarmonicConv2D', () => {
  it('components equal a dense conv with the kernels G(r)·cos mφ and G(r)·sin mφ (orders 1, 2, 3; stride 2)', () => {
    for (const [order, k, strides] of [
      [1, 5, 1],
      [2, 7, 1],
      [3, 5, 2],
    ] as const) {
      const layer = new GMRHarmonicConv2D({
        filters: 3,
        kernelSize: k,
        order,
        outputMode: 'components',
        padding: 'same',
        strides,
      });
      const x = tf.randomNormal([2, 11, 11, 2], 0, 1, 'float32', order);
      const y = layer.apply(x) as tf.Tensor;
      const w = denseHarmonicKernels(layer);
      const want = tf.conv2d(x as tf.Tensor4D, w, strides, 'same');
      expect(y.shape).toEqual(want.shape);
      expect(layer.computeOutputShape(x.shape)).toEqual(y.shape);
      expect(maxAbs(y, want)).toBeLessThan(1e-5);
      const synth = layer.synthesizedKernel();
      expect(maxAbs(synth, w)).toBeLessThan(1e-6);
      tf.dispose([x, y, w, want, synth]);
      layer.dispose();
    }
  });

  it('magnitude = √(c² + s² + ε) + bias, then the activation; channelsFirst gives the same numbers', () => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 4);
    const mag = new GMRHarmonicConv2D({
      filters: 4,
      kernelSize: 5,
      padding: 2,
      activation: 'relu',
      biasInitializer: 'randomNormal',
    });
    const y = mag.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 9, 9, 4]);
    const comp = new GMRHarmonicConv2D({ filters: 4, kernelSize: 5, padding: 2, outputMode: 'components' });
    comp.apply(x);
    const [theta, ls, bias] = mag.getWeights();
    comp.setWeights([theta, ls]);
    const cs = comp.apply(x) as tf.Tensor;
    const [c, s] = tf.split(cs, 2, 3);
    const want = tf.relu(tf.add(tf.sqrt(tf.add(tf.add(tf.square(c), tf.square(s)), 1e-6)), bias));
    expect(maxAbs(y, want)).toBeLessThan(1e-5);
    const cf = new GMRHarmonicConv2D({
      filters: 4,
      kernelSize: 5,
      padding: 2,
      activation: 'relu',
      dataFormat: 'channelsFirst',
    });
    cf.apply(tf.transpose(x, [0, 3, 1, 2]));
    cf.setWeights(mag.getWeights());
    const ycf = cf.apply(tf.transpose(x, [0, 3, 1, 2])) as tf.Tensor;
    expect(maxAbs(tf.transpose(ycf, [0, 2, 3, 1]), y)).toBeLessThan(1e-5);
    tf.dispose([x, y, cs, c, s, want, ycf]);
    [mag, comp, cf].forEach((l) => l.dispose());
  });

  it('magnitude is exactly equivariant to the 8 symmetries of the grid (orders 1 and 2)', () => {
    for (const order of [1, 2]) {
      const layer = new GMRHarmonicConv2D({ filters: 5, kernelSize: 9, order, padding: 'same' });
      const x = tf.randomNormal([2, 14, 14, 3], 0, 1, 'float32', 11 + order);
      const y = layer.apply(x) as tf.Tensor;
      for (const g of D4_ELEMENTS) {
        const lhs = layer.apply(applyD4(x, g)) as tf.Tensor;
        const rhs = applyD4(y, g);
        expect(maxAbs(lhs, rhs), `${g}, order ${order}`).toBeLessThan(1e-5);
        tf.dispose([lhs, rhs]);
      }
      tf.dispose([x, y]);
      layer.dispose();
    }
  });

  it('order-1 components turn as a vector: rot90 maps (c, s) to ±(−s, c), a flip negates one component', () => {
    const layer = new GMRHarmonicConv2D({ filters: 2, kernelSize: 7, outputMode: 'components', padding: 'same' });
    const x = tf.randomNormal([1, 12, 12, 2], 0, 1, 'float32', 21);
    const [c, s] = tf.split(layer.apply(x) as tf.Tensor, 2, 3);
    const [c1, s1] = tf.split(layer.apply(applyD4(x, 'rot90')) as tf.Tensor, 2, 3);
    const [rc, rs] = [applyD4(c, 'rot90'), applyD4(s, 'rot90')];
    const scale = maxAbs(rc, tf.zerosLike(rc));
    const plus = Math.max(maxAbs(c1, tf.neg(rs)), maxAbs(s1, rc));
    const minus = Math.max(maxAbs(c1, rs), maxAbs(s1, tf.neg(rc)));
    expect(Math.min(plus, minus)).toBeLessThan(1e-5 * scale);
    expect(Math.max(plus, minus)).toBeGreaterThan(0.5 * scale); // only one of the two rotation senses holds
    // A flip of columns (x → −x) negates c and keeps s; a flip of rows negates s and keeps c.
    const [cH, sH] = tf.split(layer.apply(applyD4(x, 'flipH')) as tf.Tensor, 2, 3);
    const [cV, sV] = tf.split(layer.apply(applyD4(x, 'flipV')) as tf.Tensor, 2, 3);
    const fH = (t: tf.Tensor) => applyD4(t, 'flipH');
    const fV = (t: tf.Tensor) => applyD4(t, 'flipV');
    const colFlip = [
      [cH, sH, fH],
      [cV, sV, fV],
    ].find(([cc, , f]) => maxAbs(cc as tf.Tensor, tf.neg((f as typeof fH)(c))) < 1e-5 * scale);
    expect(colFlip, 'one flip negates the cos component').toBeDefined();
    const [cc, ss, f] = colFlip! as [tf.Tensor, tf.Tensor, typeof fH];
    expect(maxAbs(ss, f(s))).toBeLessThan(1e-5 * scale);
    expect(maxAbs(cc, f(c))).toBeGreaterThan(0.1 * scale);
    layer.dispose();
  });

  it('is nearly invariant at 45° on a smooth image where a GMR-free oriented filter is not', () => {
    // A smooth anisotropic blob and its 45° rotation (computed analytically, no resampling).
    const size = 33;
    const blob = (angle: number) => {
      const v = new Float32Array(size * size);
      const c = (size - 1) / 2;
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) {
          const [x, y] = [j - c, i - c];
          const u = x * Math.cos(angle) + y * Math.sin(angle);
          const w = -x * Math.sin(angle) + y * Math.cos(angle);
          v[i * size + j] = Math.exp(-(u * u) / 40 - (w * w) / 8);
        }
      return tf.tensor4d(v, [1, size, size, 1]);
    };
    // Seeded weights: over 30 random draws the pooled error was 0.001–0.013 for 28 and up to 0.031 for one, where a
    // channel's pooled response happens to be small; unseeded, the test failed now and then.
    const layer = new GMRHarmonicConv2D({
      filters: 4,
      kernelSize: 9,
      padding: 'same',
      useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    });
    const y0 = layer.apply(blob(0)) as tf.Tensor;
    const y45 = layer.apply(blob(Math.PI / 4)) as tf.Tensor;
    // Pooled over the image, the responses of rotated inputs agree (the magnitude does not see the angle).
    const pooled = (t: tf.Tensor) => tf.sum(t, [0, 1, 2]);
    const rel = maxAbs(pooled(y0), pooled(y45)) / maxAbs(pooled(y0), tf.zeros([4]));
    expect(rel).toBeLessThan(0.02);
    // The cos component alone does see it.
    const comp = new GMRHarmonicConv2D({ filters: 4, kernelSize: 9, padding: 'same', outputMode: 'components' });
    comp.apply(blob(0));
    comp.setWeights(layer.getWeights());
    const cos0 = tf.split(comp.apply(blob(0)) as tf.Tensor, 2, 3)[0];
    const cos45 = tf.split(comp.apply(blob(Math.PI / 4)) as tf.Tensor, 2, 3)[0];
    const absPooled = (t: tf.Tensor) => tf.sum(tf.abs(t), [0, 1, 2]);
    expect(maxAbs(absPooled(cos0), absPooled(cos45)) / maxAbs(absPooled(cos0), tf.zeros([4]))).toBeGreaterThan(0.05);
    layer.dispose();
    comp.dispose();
  });

  it('gradients of θ, log σ, the bias and the input match central differences', () => {
    // ε = 0.5 keeps the magnitude smooth where c and s pass near zero, so float32 differences are accurate.
    const layer = new GMRHarmonicConv2D({
      filters: 2,
      kernelSize: 5,
      padding: 'same',
      biasInitializer: 'randomNormal',
      magnitudeEpsilon: 0.5,
    });
    const x = tf.variable(tf.randomNormal([1, 7, 7, 2], 0, 1, 'float32', 3));
    layer.apply(x);
    const r = tf.randomNormal([1, 7, 7, 2], 0, 1, 'float32', 8);
    const vars = [...layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val), x];
    const loss = () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, vars);
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const vals = v.dataSync().slice();
      for (const idx of [0, Math.floor(vals.length / 2), vals.length - 1]) {
        const h = 3e-3;
        const at = (d: number) => {
          const p = vals.slice();
          p[idx] += d;
          v.assign(tf.tensor(p, v.shape));
          return loss().dataSync()[0];
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(vals, v.shape));
        expect(Math.abs(fd - g[idx]), `${v.name}[${idx}]: fd ${fd} vs ${g[idx]}`).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(fd)),
        );
      }
    }
    layer.dispose();
  });

  it('saves and loads inside a model (config round trip) and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const input = tfl.input({ shape: [10, 10, 1] });
    const h = new GMRHarmonicConv2D({ filters: 3, kernelSize: 5, padding: 'same', order: 2, name: 'harm' }).apply(
      input,
    ) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: h });
    const x = tf.randomNormal([2, 10, 10, 1], 0, 1, 'float32', 5);
    const y = model.predict(x) as tf.Tensor;
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const layer = loaded.getLayer('harm') as GMRHarmonicConv2D;
    expect(layer).toBeInstanceOf(GMRHarmonicConv2D);
    expect([layer.order, layer.outputMode]).toEqual([2, 'magnitude']);
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(maxAbs(y, y2)).toBe(0);
    tf.dispose([x, y, y2]);
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options with the parameter, the value and what is allowed', () => {
    const base = { filters: 2, kernelSize: 5 };
    expect(() => new GMRHarmonicConv2D({ ...base, order: 0 })).toThrow(/`order` must be a positive integer, got 0/);
    expect(() => new GMRHarmonicConv2D({ ...base, outputMode: 'phase' as never })).toThrow(
      /`outputMode` must be 'magnitude' or 'components', got "phase"/,
    );
    expect(() => new GMRHarmonicConv2D({ ...base, outputMode: 'components', useBias: true })).toThrow(
      /`useBias` must be false with outputMode 'components'.*got true/,
    );
    expect(() => new GMRHarmonicConv2D({ ...base, outputMode: 'components', activation: 'relu' })).toThrow(
      /activation.*relu/,
    );
    expect(() => new GMRHarmonicConv2D({ ...base, trainIndexMat: true } as never)).toThrow(/trainIndexMat.*true/);
    expect(() => new GMRHarmonicConv2D({ ...base, magnitudeEpsilon: 0 })).toThrow(
      /`magnitudeEpsilon` must be a finite positive number, got 0/,
    );
  });
});
