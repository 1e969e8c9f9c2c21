/** model.json carries a SHA-256 of topology, weight specs and weights; a damaged model is refused on load. */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GMRConv2D } from '../src/index.js';
import { fileSystem } from '../src/node/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function saved(): Promise<{ dir: string; model: tf.LayersModel }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmr-integrity-'));
  const model = tf.sequential({
    layers: [
      new GMRConv2D({ filters: 2, kernelSize: 3, inputShape: [5, 5, 1] }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2 }),
    ],
  });
  await model.save(fileSystem(dir));
  return { dir, model };
}

describe('exported model integrity', () => {
  it('a saved model states its checksum and loads with the same weights', async () => {
    const { dir, model } = await saved();
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.integrity.sha256).toMatch(/^[0-9a-f]{64}$/);
    const back = await tf.loadLayersModel(fileSystem(dir));
    const x = tf.randomUniform([1, 5, 5, 1], 0, 1, 'float32', 1);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor))));
    expect(d.dataSync()[0]).toBe(0);
    tf.dispose([x, d]);
    model.dispose();
    back.dispose();
  });

  it('a flipped bit in weights.bin is refused, naming model.json', async () => {
    const { dir, model } = await saved();
    model.dispose();
    const bin = path.join(dir, 'weights.bin');
    const bytes = new Uint8Array(fs.readFileSync(bin));
    bytes[5] ^= 0x10;
    fs.writeFileSync(bin, bytes);
    await expect(tf.loadLayersModel(fileSystem(dir))).rejects.toThrow(
      /model\.json.*checksum mismatch: the SHA-256 of modelTopology, the weight specs and the weight bytes/,
    );
  });

  it('an edited topology is refused too; a model.json without the field loads as before', async () => {
    const { dir, model } = await saved();
    model.dispose();
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const dense = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'Dense');
    dense.config.activation = 'relu';
    fs.writeFileSync(file, JSON.stringify(json));
    await expect(tf.loadLayersModel(fileSystem(dir))).rejects.toThrow(/checksum mismatch/);
    delete json.integrity;
    fs.writeFileSync(file, JSON.stringify(json));
    const m = await tf.loadLayersModel(fileSystem(dir));
    expect(m.layers.length).toBe(3);
    m.dispose();
  });
});
