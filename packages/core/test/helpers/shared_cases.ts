/**
 * The shared op cases of @gmr-conv/test-utils (the list every backend runs) as core's own case specs, so that core's
 * float64 reference and plain-tfjs composition (gmr_reference.ts) check them too.
 */
import type { OpCase } from '@gmr-conv/test-utils/op_cases';
import type { CaseSpec, PadSpec } from './gmr_reference.js';

export function caseSpecOf(c: OpCase): CaseSpec {
  const o = c.opts;
  return {
    rank: c.rank,
    transposed: c.transposed,
    batch: c.batch ?? 2,
    cin: c.cin,
    cout: c.cout,
    spatial: c.size,
    kernelSize: o.kernelSize as number | number[],
    forceCircular: o.forceCircular,
    strides: o.strides as number | number[] | undefined,
    dilations: o.dilations as number | number[] | undefined,
    padding: o.padding as PadSpec | undefined,
    paddingMode: o.paddingMode,
    groups: o.groups,
    bias: c.bias,
    rings: c.gaussian ? 'gauss' : 'binary',
    dataFormat: o.dataFormat as CaseSpec['dataFormat'],
    outputPadding: o.outputPadding,
  };
}
