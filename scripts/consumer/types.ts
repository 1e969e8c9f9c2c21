// Type-checked by scripts/consumer-test.sh with `tsc --noEmit` in the fresh npm project: the published .d.ts files
// resolve through each package's `exports` (types condition) and the public types fit together as a user writes them.
import * as tf from '@tensorflow/tfjs';
import { GMRConv2D, type GMRConvLayerArgs, type D4Element } from '@gmr-conv/core';
import { fileSystem, type NodeWebGPUStatus } from '@gmr-conv/core/node';
import { gmrCNN, gmrResNet18, type CNNOptions } from '@gmr-conv/models';
import { nativeStatus, type NativeStatus, type NativeBackendName } from '@gmr-conv/kernels-cuda';
import { kernelCallCounts, type KernelCallCounts } from '@gmr-conv/kernels-webgpu';

const args: GMRConvLayerArgs = { filters: 8, kernelSize: 5, padding: 'same', activation: 'relu' };
const layer: GMRConv2D = new GMRConv2D(args);
const y: tf.Tensor = layer.apply(tf.zeros([1, 16, 16, 3])) as tf.Tensor;
const element: D4Element = 'rot90';

const options: CNNOptions = { numClasses: 10, widths: [16, 32, 64] };
const cnn: tf.LayersModel = gmrCNN(options);
const resnet: tf.LayersModel = gmrResNet18({ numClasses: 10, inplanes: 8 });
const handler: tf.io.IOHandler = fileSystem('/tmp/model');

const status: Record<NativeBackendName, NativeStatus> = nativeStatus();
const ok: boolean = status.native.ok;
const counts: KernelCallCounts = kernelCallCounts();
declare const webgpu: NodeWebGPUStatus;
const detail: string = webgpu.detail;

export { y, element, cnn, resnet, handler, ok, counts, detail };
