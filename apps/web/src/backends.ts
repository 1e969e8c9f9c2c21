/**
 * The tfjs backends of the page: WebGPU, WebGL and wasm (its .wasm files served by the page under tfjs-wasm/,
 * see vite.config.ts), and the choice 'auto' that takes the first of them that starts. On WebGPU the GMR layers
 * run @gmr-conv/kernels-webgpu's fused kernels instead of core's composed path.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
// registers 'webgpu' only where navigator.gpu exists
import '@tensorflow/tfjs-backend-webgpu';
// the fused WGSL kernels for the GMR layers on 'webgpu' (importing it is the whole integration)
import '@gmr-conv/kernels-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export const BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = 'auto' | BackendName;
export const CHOICES: readonly BackendChoice[] = ['auto', ...BACKENDS];

export function isChoice(v: unknown): v is BackendChoice {
  return typeof v === 'string' && (CHOICES as readonly string[]).includes(v);
}

// the wasm binaries next to the page (offline); no threads unless the page is cross-origin isolated
setWasmPaths(new URL('tfjs-wasm/', document.baseURI).href);

export interface BackendResult {
  /** the backend now running */
  name: BackendName;
  /** what was tried, in order, with the reason each failed one failed */
  tried: { name: BackendName; ok: boolean; reason?: string }[];
}

async function trySet(name: BackendName): Promise<string | null> {
  if (name === 'webgpu' && !('gpu' in navigator))
    return 'navigator.gpu is missing (WebGPU not enabled in this browser)';
  if (!tf.findBackendFactory(name)) return `the ${name} backend is not registered`;
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name ? null : `${name} failed to initialise`;
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

/** Switches to the chosen backend ('auto': WebGPU, then WebGL, then wasm). Throws if none starts. */
export async function useBackend(choice: BackendChoice): Promise<BackendResult> {
  const order: BackendName[] = choice === 'auto' ? [...BACKENDS] : [choice];
  const tried: BackendResult['tried'] = [];
  for (const name of order) {
    const reason = await trySet(name);
    tried.push(reason === null ? { name, ok: true } : { name, ok: false, reason });
    if (reason === null) return { name, tried };
  }
  throw new Error(`no backend started: ${tried.map((t) => t.reason).join('; ')}`);
}

/** A short description of the running backend (adapter for WebGPU, renderer for WebGL, SIMD/threads for wasm). */
export async function describeBackend(name: BackendName): Promise<string> {
  try {
    if (name === 'webgpu') {
      const backend = tf.backend() as unknown as {
        adapterInfo?: { vendor?: string; architecture?: string; description?: string };
      };
      const info = backend.adapterInfo;
      const text = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' / ');
      return text ? `adapter ${text}` : '';
    }
    if (name === 'webgl') {
      const v = tf.env().getNumber('WEBGL_VERSION');
      const f32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
      return `WebGL ${v}, ${f32 ? 'float32' : 'float16'} textures`;
    }
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return `SIMD ${simd ? 'on' : 'off'}, ${threads ? 'threads' : 'one thread'}`;
  } catch {
    return '';
  }
}
