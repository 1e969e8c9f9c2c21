/**
 * gmr export: a trained checkpoint as a tfjs LayersModel folder (model.json + weights.bin, written atomically by
 * @gmr-conv/core/node). With --plain, every GMR conv becomes a Conv2D holding its synthesised kernel
 * (@gmr-conv/models' exportToPlainConv), so the model runs wherever tfjs runs, without @gmr-conv/core.
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileSystem } from '@gmr-conv/core/node';
import { exportToPlainConv } from '@gmr-conv/models';
import { tf } from './backend.js';
import { CliError } from './errors.js';

export interface ExportResult {
  out: string;
  plain: boolean;
  layers: string[];
  maxAbsLogitDiff: number;
}

export async function exportModel(model: tf.LayersModel, out: string, plain: boolean, overwrite: boolean): Promise<ExportResult> {
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite) throw new CliError(`${dir} is not empty: pass --force to replace the model there (the previous files are kept until the new ones are complete)`);
  let target = model;
  if (plain) {
    try {
      target = exportToPlainConv(model);
    } catch (e) {
      throw new CliError(`cannot export to plain convolutions: ${(e as Error).message}`);
    }
  }
  // check: the exported model's logits against the original's on a few deterministic inputs
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, target.predict(x) as tf.Tensor))));
  const maxAbsLogitDiff = (await d.data())[0];
  tf.dispose([x, d]);
  await target.save(fileSystem(dir));
  return { out: dir, plain, layers: target.layers.map((l) => l.getClassName()), maxAbsLogitDiff };
}

/**
 * gmr convert: every Conv2D (kernel > 1) of a checkpoint's model becomes a GMR conv (@gmr-conv/models'
 * convertToGMR; the other layers keep their weights, θ is newly initialised since a dense kernel has no exact
 * ring form), saved as a tfjs model folder.
 */
export async function convertModel(model: tf.LayersModel, out: string, overwrite: boolean): Promise<{ out: string; converted: string[]; layers: string[] }> {
  const { convertToGMR } = await import('@gmr-conv/models');
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite) throw new CliError(`${dir} is not empty: pass --force to replace the model there`);
  const converted = model.layers
    .filter((l) => l.getClassName() === 'Conv2D' && ((l.getConfig().kernelSize as number[] | number) instanceof Array ? (l.getConfig().kernelSize as number[]).some((k) => k > 1) : (l.getConfig().kernelSize as number) > 1))
    .map((l) => l.name);
  if (converted.length === 0) throw new CliError('the model has no Conv2D layer with a kernel larger than 1 to convert (is it already a GMR model?)');
  let gmr: tf.LayersModel;
  try {
    gmr = convertToGMR(model);
  } catch (e) {
    throw new CliError(`cannot convert to GMR convolutions: ${(e as Error).message}`);
  }
  await gmr.save(fileSystem(dir));
  return { out: dir, converted, layers: gmr.layers.map((l) => l.getClassName()) };
}
