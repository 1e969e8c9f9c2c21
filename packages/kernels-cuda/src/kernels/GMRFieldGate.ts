/**
 * GMRFieldGate: the gate of core's FieldNonlinearity ('gate' mode) in one native pass (native/field_ops.cc):
 * ReLU on the order-0 maps, z·σ(s) on every order-m field. Its gradient is GMRFieldGateGrad, registered by core
 * with the op (core/src/steerable/field_gate.ts); core picks this kernel only where both are registered.
 */
import { invalid } from '@gmr-conv/core';
import { FIELD_GATE, type FieldGateAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

/** n0 + 3K input and n0 + 2K output channels of a gate with output fields [n0, n1, n2], K = n1 + n2. */
export function gateChannels(fields: FieldGateAttrs['fields']): { cin: number; cout: number } {
  const [n0, n1, n2] = fields;
  return { cin: n0 + 3 * (n1 + n2), cout: n0 + 2 * (n1 + n2) };
}

export function fieldGate(args: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x'>, FieldGateAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { fields } = args.attrs;
  const { cin, cout } = gateChannels(fields);
  // No cpu kernel of this name exists to fall back to (core's fieldGate sends only float32 of this layout)
  if (x.dtype !== 'float32' || x.shape[x.shape.length - 1] !== cin)
    invalid(
      FIELD_GATE,
      'x',
      `${x.dtype} [${x.shape.join(', ')}]`,
      `float32 [..., ${cin}] for fields [${fields.join(', ')}]`,
    );
  count(FIELD_GATE);
  const outShape = [...x.shape.slice(0, -1), cout];
  const y = backend.allocFloat32(size(outShape));
  backend.addon.fieldGate(backend.f32(x), fields[0], fields[1], fields[2], y);
  return backend.makeNativeOutput(y, outShape);
}

export const fieldGateConfig = nativeKernel(FIELD_GATE, fieldGate);
