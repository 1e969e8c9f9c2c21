/**
 * gmr export: a trained checkpoint as a tfjs LayersModel folder (model.json + weights.bin, written atomically by
 * @gmr-conv/core/node). With --plain, every GMR conv becomes a Conv2D holding its synthesised kernel
 * (@gmr-conv/models' exportToPlainConv), so the model runs wherever tfjs runs, without @gmr-conv/core.
 * With --format safetensors, the PyTorch state dict instead (exportSafetensors).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileSystem } from '@gmr-conv/core/node';
import { exportToPlainConv } from '@gmr-conv/models';
import { tf } from './backend.js';
import { CliError } from './errors.js';
import { describeSpec, type ModelSpec } from './model.js';

export interface ExportResult {
  out: string;
  plain: boolean;
  layers: string[];
  maxAbsLogitDiff: number;
  /** The largest |logit| of the checkpoint's model on the same images (the scale maxAbsLogitDiff compares with). */
  maxAbsLogit: number;
}

export async function exportModel(
  model: tf.LayersModel,
  out: string,
  plain: boolean,
  overwrite: boolean,
): Promise<ExportResult> {
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite)
    throw new CliError(
      `${dir} is not empty: pass --force to replace the model there (the previous files are kept until the new ones are complete)`,
    );
  let target = model;
  if (plain) {
    try {
      target = exportToPlainConv(model);
    } catch (e) {
      throw new CliError(`cannot export to plain convolutions: ${(e as Error).message}`);
    }
  }
  // check: the exported model's logits against the original's on a few deterministic inputs
  // the model's own input shape (models trained on --data take other sizes and channels than 28×28×1)
  const [, h, w, c] = model.inputs[0].shape;
  const x = tf.randomUniform([4, h ?? 28, w ?? 28, c ?? 1], 0, 1, 'float32', 3);
  const [d, m] = tf.tidy(() => {
    const want = model.predict(x) as tf.Tensor;
    return [tf.max(tf.abs(tf.sub(want, target.predict(x) as tf.Tensor))), tf.max(tf.abs(want))];
  });
  const maxAbsLogitDiff = (await d!.data())[0]!;
  const maxAbsLogit = (await m!.data())[0]!;
  tf.dispose([x, d!, m!]);
  await target.save(fileSystem(dir));
  return { out: dir, plain, layers: target.layers.map((l) => l.getClassName()), maxAbsLogitDiff, maxAbsLogit };
}

/**
 * gmr export --format safetensors: the checkpoint's weights as the PyTorch state dict of the documented
 * nn.Sequential form of the CNN (@gmr-conv/models' exportPyTorchStateDict), in `<out>/model.safetensors`, with
 * `<out>/pytorch.json` naming the PyTorch module and its arguments (packages/models/python/gmr_interop.py builds
 * it: `build(json.load(open('pytorch.json')))`, then `load_state_dict`).
 */
export async function exportSafetensors(
  model: tf.LayersModel,
  spec: ModelSpec,
  out: string,
  overwrite: boolean,
): Promise<{ out: string; file: string; tensors: number; pytorch: Record<string, unknown> }> {
  const { exportPyTorchStateDict, isSequentialCNN, writeSafetensors } = await import('@gmr-conv/models');
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite)
    throw new CliError(`${dir} is not empty: pass --force to replace the files there`);
  if (spec.normalization)
    throw new CliError(
      `--format safetensors: this ${spec.kind} normalises its input in its first layer (input_norm, from a run of --data), which the PyTorch module lacks; export it with --format tfjs, or train with --no-normalize`,
    );
  if (!isSequentialCNN(model)) {
    throw new CliError(
      `--format safetensors: ${describeSpec(spec)} has no PyTorch counterpart (harmonic channels and ring pooling are GMR.js extensions); export it with --format tfjs`,
    );
  }
  let sd;
  try {
    sd = exportPyTorchStateDict(model);
  } catch (e) {
    throw new CliError(`cannot export to a PyTorch state dict: ${(e as Error).message}`);
  }
  const convs = ['conv1', 'conv2', 'conv3'].map((n) => model.getLayer(n).getConfig().kernelSize as number | number[]);
  const pytorch = {
    arch: spec.kind === 'gmr-cnn' ? 'gmr_cnn' : 'plain_cnn',
    widths: spec.widths,
    kernel_sizes: convs.map((k) => (Array.isArray(k) ? k[0] : k)),
    num_classes: spec.numClasses,
    in_channels: spec.inputShape?.[2] ?? 1,
  };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  // written beside, then renamed: a reader never sees half a file
  writeFileSync(
    `${file}.tmp`,
    writeSafetensors(sd, { format: 'pt', source: 'gmr export', pytorch: JSON.stringify(pytorch) }),
  );
  renameSync(`${file}.tmp`, file);
  writeFileSync(join(dir, 'pytorch.json'), `${JSON.stringify(pytorch, null, 2)}\n`);
  return { out: dir, file, tensors: sd.size, pytorch };
}

/**
 * gmr convert: every Conv2D (kernel > 1) of a checkpoint's model becomes a GMR conv (@gmr-conv/models'
 * convertToGMR; the other layers keep their weights, θ is newly initialised since a dense kernel has no exact
 * ring form), saved as a tfjs model folder.
 */
export async function convertModel(
  model: tf.LayersModel,
  out: string,
  overwrite: boolean,
): Promise<{ out: string; converted: string[]; layers: string[] }> {
  const { convertToGMR } = await import('@gmr-conv/models');
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !overwrite)
    throw new CliError(`${dir} is not empty: pass --force to replace the model there`);
  const converted = model.layers
    .filter(
      (l) =>
        l.getClassName() === 'Conv2D' &&
        ((l.getConfig().kernelSize as number[] | number) instanceof Array
          ? (l.getConfig().kernelSize as number[]).some((k) => k > 1)
          : (l.getConfig().kernelSize as number) > 1),
    )
    .map((l) => l.name);
  if (converted.length === 0)
    throw new CliError(
      'the model has no Conv2D layer with a kernel larger than 1 to convert (is it already a GMR model?)',
    );
  let gmr: tf.LayersModel;
  try {
    gmr = convertToGMR(model);
  } catch (e) {
    throw new CliError(`cannot convert to GMR convolutions: ${(e as Error).message}`);
  }
  await gmr.save(fileSystem(dir));
  return { out: dir, converted, layers: gmr.layers.map((l) => l.getClassName()) };
}
