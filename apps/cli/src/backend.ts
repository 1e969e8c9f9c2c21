/**
 * Backend setup for the CLI: native, cuda, wasm, cpu or webgpu, each checked with a small conv2d. 'auto' takes the
 * first that works of native (the host build of @gmr-conv/kernels-cuda: C++ kernels on every core, the fastest
 * here), wasm (SIMD, one thread in Node) and cpu. 'cuda' is that package's CUDA build, registered only when it was
 * built and a device answers. 'webgpu' is tfjs's webgpu backend on Dawn (core/node's registerNodeWebGPU: a GPU's
 * Vulkan driver, else a software adapter) with @gmr-conv/kernels-webgpu's fused GMR kernels; never chosen by 'auto'
 * (on a machine without a GPU its software adapters are slower than native).
 *
 * tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so plain Conv2D layers cannot train on it: core's
 * optimizeWasmBackend supplies one (a single forward conv2d over transposed tensors) and a fast Tile.
 */
import * as tf from '@tensorflow/tfjs';
import { optimizeWasmBackend } from '@gmr-conv/core';
import { CliError } from './errors.js';

export { tf };
export const BACKENDS = ['native', 'cuda', 'wasm', 'cpu', 'webgpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number] | 'auto';

export interface BackendInfo {
  name: string;
  detail: string;
}

let wasmImport: Promise<unknown> | null = null;
let nativeImport: Promise<typeof import('@gmr-conv/kernels-cuda')> | null = null;

/** Imports the native backends' package (registers 'native', and 'cuda' when a device answers); a reason when it cannot. */
async function nativeBackend(name: 'native' | 'cuda'): Promise<string | null> {
  try {
    nativeImport ??= import('@gmr-conv/kernels-cuda');
    const m = await nativeImport;
    const st = m.nativeStatus()[name];
    return st.ok ? null : `${name}: ${st.detail}`;
  } catch (e) {
    return `${name}: cannot load @gmr-conv/kernels-cuda (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); run pnpm build`;
  }
}

async function tryBackend(name: string): Promise<BackendInfo | string> {
  let webgpuDetail = '';
  try {
    if (name === 'wasm') {
      wasmImport ??= import('@tensorflow/tfjs-backend-wasm');
      await wasmImport;
    }
    if (name === 'native' || name === 'cuda') {
      const why = await nativeBackend(name);
      if (why) return why;
    }
    if (name === 'webgpu') {
      const { registerNodeWebGPU } = await import('@gmr-conv/core/node');
      const r = await registerNodeWebGPU();
      if (!r.ok) return `webgpu: ${r.detail}`;
      // The fused WGSL GMR kernels (core's composed ops otherwise).
      await import('@gmr-conv/kernels-webgpu');
      webgpuDetail = `tfjs webgpu backend on ${r.detail}, @gmr-conv/kernels-webgpu's GMR kernels`;
    }
    const warn = console.warn;
    console.warn = () => {};
    let ok: boolean;
    try {
      ok = await tf.setBackend(name);
      await tf.ready();
    } finally {
      console.warn = warn;
    }
    if (!ok) return `${name}: tf.setBackend failed`;
    // Check: a small conv2d against a plain JS loop.
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const f = tf.tensor4d([1, 0, -1, 2], [2, 2, 1, 1]);
    const y = tf.conv2d(x, f, 1, 'valid');
    const got = Array.from(await y.data());
    tf.dispose([x, f, y]);
    const want = [1 * 1 - 4 + 2 * 5, 2 - 5 + 2 * 6, 4 - 7 + 2 * 8, 5 - 8 + 2 * 9];
    if (got.some((v, i) => Math.abs(v - want[i]) > 1e-4)) return `${name}: conv2d check failed`;
    if (name === 'wasm') optimizeWasmBackend();
    let detail = `tfjs ${name} backend`;
    if (name === 'native' || name === 'cuda') detail = (await nativeImport!).describeBackend(name);
    if (name === 'webgpu') detail = webgpuDetail;
    if (name === 'wasm') {
      try {
        detail += ` (simd ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}, 1 thread in Node)`;
      } catch {
        /* informational */
      }
    }
    return { name, detail };
  } catch (e) {
    return `${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

/** Activates the requested backend ('auto': native, then wasm, then cpu). Throws a CliError when it cannot. */
export async function setupBackend(choice: string): Promise<BackendInfo> {
  const order = choice === 'auto' ? ['native', 'wasm', 'cpu'] : [choice];
  if (!['auto', ...BACKENDS].includes(choice))
    throw new CliError(`unknown backend '${choice}' (choose one of: auto, ${BACKENDS.join(', ')})`);
  const failures: string[] = [];
  for (const name of order) {
    const r = await tryBackend(name);
    if (typeof r !== 'string') return r;
    failures.push(r);
  }
  throw new CliError(`no usable backend: ${failures.join('; ')}`);
}
