/**
 * GMRFieldInvariants: core's FieldInvariants (the invariant channels at a steerable network's head) in one native pass
 * (native/field_ops.cc): the order-0 maps, |z|² of every order-m field, and with products 'paired' the phase relations,
 * bit for bit the composed form's. Its gradient is GMRFieldInvariantsGrad, registered by core with the layer
 * (core/src/steerable/field_invariants.ts); core picks this kernel only where both are registered.
 */
import { fieldChannels, fieldInvariantChannels, invalid } from '@gmr-conv/core';
import { FIELD_INVARIANTS, type FieldInvariantsAttrs } from '@gmr-conv/core/kernel';
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import { count } from '../counters.js';
import { nativeKernel, size, type NativeKernelArgs } from './native_util.js';

/** Input channels n0 + 2·(n1 + n2) and output channels fieldInvariantChannels of FieldInvariants with these attrs. */
export function invariantChannels(attrs: FieldInvariantsAttrs): { cin: number; cout: number } {
  return { cin: fieldChannels(attrs.fields), cout: fieldInvariantChannels(attrs.fields, attrs.products) };
}

export function fieldInvariants(args: NativeKernelArgs<Pick<NamedTensorInfoMap, 'x'>, FieldInvariantsAttrs>) {
  const { backend } = args;
  const x = args.inputs.x!;
  const { fields, products } = args.attrs;
  const { cin, cout } = invariantChannels(args.attrs);
  // No cpu kernel of this name exists to fall back to (core's FieldInvariants sends only float32 of this layout)
  if (x.dtype !== 'float32' || x.shape.length < 1 || x.shape[x.shape.length - 1] !== cin)
    invalid(
      FIELD_INVARIANTS,
      'x',
      `${x.dtype} [${x.shape.join(', ')}]`,
      `float32 [..., ${cin}] for fields [${fields.join(', ')}]`,
    );
  count(FIELD_INVARIANTS);
  const outShape = [...x.shape.slice(0, -1), cout];
  const y = backend.allocFloat32(size(outShape));
  backend.addon.fieldInvariants(backend.f32(x), fields[0], fields[1], fields[2], products === 'paired' ? 1 : 0, y);
  return backend.makeNativeOutput(y, outShape);
}

export const fieldInvariantsConfig = nativeKernel(FIELD_INVARIANTS, fieldInvariants);
