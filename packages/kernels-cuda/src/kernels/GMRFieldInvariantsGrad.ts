/** GMRFieldInvariantsGrad: the input gradient of GMRFieldInvariants from x and dy in one native pass (native/field_ops.cc). */
import { invalid } from '@gmr-conv/core';
import { FIELD_INVARIANTS_GRAD, type FieldInvariantsAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { invariantChannels } from './GMRFieldInvariants.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function fieldInvariantsGrad(
  args: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'dy'>, FieldInvariantsAttrs>,
) {
  const { backend } = args;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const { fields, products } = args.attrs;
  const { cin, cout } = invariantChannels(args.attrs);
  if (
    x.dtype !== 'float32' ||
    dy.dtype !== 'float32' ||
    x.shape.length < 1 ||
    x.shape[x.shape.length - 1] !== cin ||
    size(dy.shape) !== (size(x.shape) / cin) * cout
  ) {
    invalid(
      FIELD_INVARIANTS_GRAD,
      'x, dy',
      `${x.dtype} [${x.shape.join(', ')}], ${dy.dtype} [${dy.shape.join(', ')}]`,
      `float32 [..., ${cin}] and [..., ${cout}] for fields [${fields.join(', ')}]`,
    );
  }
  count(FIELD_INVARIANTS_GRAD);
  const dx = backend.allocFloat32(size(x.shape));
  backend.addon.fieldInvariantsGrad(
    backend.f32(x),
    backend.f32(dy),
    fields[0],
    fields[1],
    fields[2],
    products === 'paired' ? 1 : 0,
    dx,
  );
  return backend.makeNativeOutput(dx, x.shape);
}

export const fieldInvariantsGradConfig = nativeKernel(FIELD_INVARIANTS_GRAD, fieldInvariantsGrad);
