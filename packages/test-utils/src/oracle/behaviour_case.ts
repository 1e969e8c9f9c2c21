/**
 * `public_reference_behaviour.json`: probes of the reference's quirks. For each
 * probe where the reference raised or misbehaved, checks that ours does the right
 * thing, against the independent float64 loops (dense_reference.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GMRConv1D, GMRConv2D, GMRConv2DTranspose, GMRConv3D, type GMRConvBase } from '@gmr-conv/core';
import { samePads } from '@gmr-conv/core/kernel';
import { denseConvReference, denseConvTransposeReference } from './dense_reference.js';
import { relError } from './load.js';
import type { CaseResult } from './layer_case.js';

function seeded(len: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: len }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Dense kernel of a built layer in OI… layout, read back asynchronously. */
async function kernelOI(layer: GMRConvBase): Promise<Float32Array> {
  const k = tf.tidy(() => {
    const kernel = layer.synthesizedKernel(); // [...k, in, out]
    const rank = kernel.rank;
    return tf.transpose(kernel, [rank - 1, rank - 2, ...Array.from({ length: rank - 2 }, (_, i) => i)]);
  });
  const data = (await k.data()) as Float32Array;
  k.dispose();
  return data;
}

function built(layer: GMRConvBase, x: tf.Tensor): GMRConvBase {
  if (!layer.built) layer.build(x.shape);
  return layer;
}

async function output(layer: GMRConvBase, x: tf.Tensor, training = false): Promise<Float32Array> {
  const y = layer.apply(x, { training }) as tf.Tensor;
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return d;
}

export async function checkReferenceBehaviour(json: any, opts: { tolerance?: number } = {}): Promise<CaseResult> {
  const tol = opts.tolerance ?? 1e-5;
  const worst: Record<string, number> = {};
  const messages: string[] = [];
  const note = (key: string, err: number) => {
    worst[key] = Math.max(worst[key] ?? 0, err);
    if (!(err <= tol)) messages.push(`${key}: relative error ${err.toExponential(2)} > ${tol}`);
  };
  const probes = json.probes ?? {};
  const owned: tf.Tensor[] = [];
  const input = (shape: number[], seed: number) => {
    const t = tf.tensor(
      seeded(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
      shape,
    );
    owned.push(t);
    return t;
  };
  const layers: GMRConvBase[] = [];
  const track = <T extends GMRConvBase>(l: T) => (layers.push(l), l);
  const biasOf = async (l: GMRConvBase) =>
    l.useBias
      ? ((await l.weights
          .find((w) => w.originalName.endsWith('bias'))!
          .read()
          .data()) as Float32Array)
      : null;

  // GMR_Conv1d cannot be constructed by the reference (IndexError); ours runs and matches the loops.
  if (probes.conv1d_construct?.raises) {
    const l = track(new GMRConv1D({ filters: 3, kernelSize: 5, dataFormat: 'channelsFirst' }));
    const x = input([2, 2, 12], 1);
    const y = await output(l, x);
    const ref = denseConvReference(await x.data(), x.shape, await kernelOI(l), [3, 2, 5], await biasOf(l), {
      strides: [1],
      dilations: [1],
      pads: [[0, 0]],
      groups: 1,
    });
    note('conv1d_vs_loops', relError(y, ref.data));
  }
  // GMR_ConvTranspose2d cannot be constructed (ValueError); ours matches conv_transpose2d loops, stride 2 and groups 2.
  if (probes.convtranspose2d_construct?.raises) {
    const l = track(
      new GMRConv2DTranspose({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 1,
        outputPadding: 1,
        groups: 2,
        dataFormat: 'channelsFirst',
      }),
    );
    const x = input([1, 2, 5, 5], 2);
    const y = await output(l, x);
    const k = tf.tidy(() => tf.transpose(l.synthesizedKernel(), [3, 2, 0, 1])); // [k,k,out/g,in] → [in, out/g, k, k]
    const kd = await k.data();
    k.dispose();
    const ref = denseConvTransposeReference(await x.data(), x.shape, kd, [2, 2, 3, 3], await biasOf(l), {
      strides: [2, 2],
      dilations: [1, 1],
      pads: [
        [1, 1],
        [1, 1],
      ],
      groups: 2,
      outputPadding: [1, 1],
    });
    note('conv_transpose2d_vs_loops', relError(y, ref.data));
  }
  // The reference's two-stage path crashes with groups > 1; ours runs it (depthwise here).
  if (probes.dw_path_groups_gt_1?.raises) {
    const l = track(
      new GMRConv2D({
        filters: 4,
        kernelSize: 5,
        padding: 2,
        groups: 4,
        path: 'two-stage',
        dataFormat: 'channelsFirst',
      }),
    );
    const x = input([1, 4, 9, 9], 3);
    const ref = denseConvReference(
      await x.data(),
      x.shape,
      await kernelOI(built(l, x)),
      [4, 1, 5, 5],
      await biasOf(l),
      {
        strides: [1, 1],
        dilations: [1, 1],
        pads: [
          [2, 2],
          [2, 2],
        ],
        groups: 4,
      },
    );
    note('two_stage_groups_vs_loops', relError(await output(l, x, true), ref.data));
  }
  // Non-square kernels crash the reference's two-stage path; ours runs them.
  if (probes.dw_path_non_square_kernel?.raises) {
    const l = track(
      new GMRConv2D({ filters: 2, kernelSize: [3, 5], padding: 1, path: 'two-stage', dataFormat: 'channelsFirst' }),
    );
    const x = input([1, 2, 8, 8], 4);
    const ref = denseConvReference(
      await x.data(),
      x.shape,
      await kernelOI(built(l, x)),
      [2, 2, 3, 5],
      await biasOf(l),
      {
        strides: [1, 1],
        dilations: [1, 1],
        pads: [
          [1, 1],
          [1, 1],
        ],
        groups: 1,
      },
    );
    note('two_stage_non_square_vs_loops', relError(await output(l, x, true), ref.data));
  }
  // padding='same' with stride 2 is refused by the reference; ours follows tfjs (output ceil(H/s)).
  if (probes.same_padding_with_stride?.raises) {
    const l = track(
      new GMRConv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', dataFormat: 'channelsFirst' }),
    );
    const x = input([1, 2, 8, 8], 5);
    const y = await output(l, x);
    const pads = [samePads(8, 3, 2, 1), samePads(8, 3, 2, 1)];
    const ref = denseConvReference(await x.data(), x.shape, await kernelOI(l), [2, 2, 3, 3], await biasOf(l), {
      strides: [2, 2],
      dilations: [1, 1],
      pads,
      groups: 1,
    });
    note('same_stride2_vs_loops', relError(y, ref.data));
  }
  // The reference's eval cache goes stale when weights change; ours re-derives whatever it cached.
  if (probes.eval_cache_stale_after_weight_update) {
    const l = track(
      new GMRConv2D({ filters: 2, kernelSize: 5, padding: 2, path: 'dense', dataFormat: 'channelsFirst' }),
    );
    const x = input([1, 2, 8, 8], 6);
    await output(l, x); // fills the inference cache
    const w = l.getWeights();
    const scaled = [tf.mul(w[0], 2), tf.add(w[1], 0.2), w[2]];
    l.setWeights(scaled);
    tf.dispose(scaled.slice(0, 2));
    note('inference_after_weight_update_vs_training_output', relError(await output(l, x), await output(l, x, true)));
  }
  // A second backward in inference mode raises in the reference; ours differentiates any number of times.
  if (probes.eval_mode_second_backward?.raises) {
    const l = track(new GMRConv2D({ filters: 2, kernelSize: 3, padding: 1, path: 'dense' }));
    const x = input([1, 6, 6, 2], 7);
    const g = () => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(l.apply(a) as tf.Tensor))(x));
    const g1 = g();
    const g2 = g();
    note('second_backward_equal', relError(await g2.data(), await g1.data()));
    tf.dispose([g1, g2]);
  }
  // GMR_Conv3d ignores dw_fwd (dense only); ours has both paths and they agree.
  if (probes.conv3d_dw_fwd_flag_ignored) {
    const a = track(new GMRConv3D({ filters: 2, kernelSize: 3, padding: 1, path: 'two-stage' }));
    const x = input([1, 5, 5, 5, 2], 8);
    const ya = await output(a, x);
    const b = track(new GMRConv3D({ filters: 2, kernelSize: 3, padding: 1, path: 'dense' }));
    b.build([null, 5, 5, 5, 2]);
    b.setWeights(a.getWeights());
    note('conv3d_two_stage_vs_dense', relError(ya, await output(b, x)));
  }
  for (const [name, p] of Object.entries<any>(probes)) {
    if (
      !(
        name in
        {
          conv1d_construct: 1,
          convtranspose2d_construct: 1,
          dw_path_groups_gt_1: 1,
          dw_path_non_square_kernel: 1,
          same_padding_with_stride: 1,
          eval_cache_stale_after_weight_update: 1,
          eval_mode_second_backward: 1,
          conv3d_dw_fwd_flag_ignored: 1,
        }
      )
    ) {
      messages.push(
        `probe ${name}: not applicable (${p.raises ? 'reference raised' : 'reference quirk'} specific to PyTorch dtypes or its flags)`,
      );
    }
  }
  for (const l of layers) {
    l.disposeCaches();
    for (const w of l.weights) w.dispose();
  }
  tf.dispose(owned);
  return { name: json.name ?? 'reference_behaviour', ok: !messages.some((m) => m.includes('>')), worst, messages };
}
