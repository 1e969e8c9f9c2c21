/** A stand-in kernel package for the backends test: registers backend 'fake-kernels' (the cpu backend under another name). */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

if (tf.findBackendFactory('fake-kernels') == null) {
  tf.registerBackend('fake-kernels', () => new MathBackendCPU(), 0);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'fake-kernels' });
}

export function describeBackend(name: string): string {
  return `test kernel module, ${name}`;
}
