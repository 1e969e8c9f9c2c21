/** Option types of the public GMR ops (the kernels' resolved attributes are GMRConvAttrs in kernel/kernel_names.ts). */

export type ComputePath = 'two-stage' | 'dense';
export type DataFormat = 'channelsLast' | 'channelsFirst';
