/** GMRFieldGateGrad: the input gradient of GMRFieldGate from x and dy in one native pass (native/field_ops.cc). */
import { invalid } from '@gmr-conv/core';
import { FIELD_GATE_GRAD, type FieldGateAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { gateChannels } from './GMRFieldGate.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

export function fieldGateGrad(args: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x' | 'dy'>, FieldGateAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const { fields } = args.attrs;
  const { cin, cout } = gateChannels(fields);
  if (
    x.dtype !== 'float32' ||
    dy.dtype !== 'float32' ||
    x.shape[x.shape.length - 1] !== cin ||
    size(dy.shape) !== (size(x.shape) / cin) * cout
  ) {
    invalid(
      FIELD_GATE_GRAD,
      'x, dy',
      `${x.dtype} [${x.shape.join(', ')}], ${dy.dtype} [${dy.shape.join(', ')}]`,
      `float32 [..., ${cin}] and [..., ${cout}] for fields [${fields.join(', ')}]`,
    );
  }
  count(FIELD_GATE_GRAD);
  const dx = backend.allocFloat32(size(x.shape));
  backend.addon.fieldGateGrad(backend.f32(x), backend.f32(dy), fields[0], fields[1], fields[2], dx);
  return backend.makeNativeOutput(dx, x.shape);
}

export const fieldGateGradConfig = nativeKernel(FIELD_GATE_GRAD, fieldGateGrad);
