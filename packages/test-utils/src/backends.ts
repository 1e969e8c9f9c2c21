/**
 * Backend setup for Node (vitest tests, the benchmark and the oracle CLI).
 *
 *   const r = await initBackend('wasm');   // {ok, name, detail}; never throws
 *   if (!r.ok) console.log(`skipping wasm: ${r.detail}`);
 *   ...
 *   disposeBackends();                     // at the end, or Dawn keeps Node alive
 *
 * - cpu: from '@tensorflow/tfjs' (which also registers every gradient and chained op).
 * - wasm: '@tensorflow/tfjs-backend-wasm', its .wasm loaded from the package (offline), one thread in Node.
 *   Importing it makes it the default backend, so this module always awaits tf.setBackend before any tensor.
 * - webgpu: Dawn through npm `webgpu` (software adapters only on a machine without a GPU):
 *     1. Mesa llvmpipe via GLES (EGL_PLATFORM=surfaceless, backend=opengles, featureLevel 'compatibility');
 *        Debian: libegl-dev libegl-mesa0 libgl1-mesa-dri.
 *     2. SwiftShader Vulkan shipped by Debian chromium (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json);
 *        Debian: chromium libvulkan1.
 *   GMR_WEBGPU_ADAPTER=gles|swiftshader forces one of the two (default: try gles, then swiftshader).
 *   navigator.gpu is defined before '@tensorflow/tfjs-backend-webgpu' is imported (it registers only then).
 * - webgl: needs a browser (WebGL2 context); not available in Node.
 * - any other name (e.g. 'native', 'cuda'): a backend that a kernel package registers on import. Core imports no
 *   kernel package itself: the modules named by `options.kernels` or the GMR_KERNELS environment variable
 *   (comma-separated specifiers or file URLs; the root scripts set it for --backend native|cuda) are imported
 *   first, then the backend is checked like the others. A module may export describeBackend(name) for the detail.
 *
 * Every backend is checked on init with a small conv2d against the cpu backend (max abs diff 1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import { registerNodeWebGPU, releaseNodeWebGPU, SWIFTSHADER_ICD, type DawnAdapterKind } from '@gmr-conv/core/node';
import { pseudoRandom } from './numeric.js';

export { tf };

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'webgl';
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'webgpu', 'webgl'];

export interface BackendStatus {
  ok: boolean;
  name: string;
  detail: string;
}

/** Max abs difference allowed between a backend's check conv2d and the cpu backend's. */
export const CHECK_TOLERANCE = 1e-4;

export { SWIFTSHADER_ICD };

// ---------------------------------------------------------------------------------------------
// helpers

function errText(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}

/** Run fn with console.warn/console.error silenced (tfjs logs init failures there); returns what fn returns. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; logged: string[] }> {
  const logged: string[] = [];
  const warn = console.warn;
  const error = console.error;
  console.warn = (...a: unknown[]) => void logged.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => void logged.push(a.map(String).join(' '));
  try {
    return { value: await fn(), logged };
  } catch (e) {
    return { error: e, logged };
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

const CHECK_X_SHAPE: [number, number, number, number] = [2, 7, 6, 3];
const CHECK_W_SHAPE: [number, number, number, number] = [3, 3, 3, 4];

/** Plain-JS NHWC conv2d, stride 1, 'same' padding: the reference for the cpu backend itself. */
function naiveConv2dSame(x: Float32Array, w: Float32Array): Float32Array {
  const [b, h, wd, ci] = CHECK_X_SHAPE;
  const [kh, kw, , co] = CHECK_W_SHAPE;
  const ph = Math.floor((kh - 1) / 2);
  const pw = Math.floor((kw - 1) / 2);
  const out = new Float32Array(b * h * wd * co);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let o = 0; o < co; o++) {
          let acc = 0;
          for (let di = 0; di < kh; di++) {
            const y = i + di - ph;
            if (y < 0 || y >= h) continue;
            for (let dj = 0; dj < kw; dj++) {
              const xx = j + dj - pw;
              if (xx < 0 || xx >= wd) continue;
              for (let c = 0; c < ci; c++) {
                acc += x[((n * h + y) * wd + xx) * ci + c]! * w[((di * kw + dj) * ci + c) * co + o]!;
              }
            }
          }
          out[((n * h + i) * wd + j) * co + o] = acc;
        }
  return out;
}

/** Runs the check conv2d on the current backend and returns its output. */
async function checkConv2d(): Promise<Float32Array> {
  const xv = pseudoRandom(
    CHECK_X_SHAPE.reduce((a, b) => a * b),
    1,
  );
  const wv = pseudoRandom(
    CHECK_W_SHAPE.reduce((a, b) => a * b),
    2,
  );
  const y = tf.tidy(() => tf.conv2d(tf.tensor4d(xv, CHECK_X_SHAPE), tf.tensor4d(wv, CHECK_W_SHAPE), 1, 'same'));
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

let cpuReference: Float32Array | null = null;

/** The check conv2d on the cpu backend (itself checked against plain JS once). Leaves 'cpu' active. */
async function cpuCheckOutput(): Promise<Float32Array> {
  if (cpuReference) return cpuReference;
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  await tf.ready();
  const got = await checkConv2d();
  const xv = pseudoRandom(
    CHECK_X_SHAPE.reduce((a, b) => a * b),
    1,
  );
  const wv = pseudoRandom(
    CHECK_W_SHAPE.reduce((a, b) => a * b),
    2,
  );
  const diff = maxAbsDiff(got, naiveConv2dSame(xv, wv));
  if (!(diff <= CHECK_TOLERANCE)) throw new Error(`cpu conv2d differs from the plain-JS reference by ${diff}`);
  cpuReference = got;
  return got;
}

/** Activates `name` (already registered) and checks its conv2d against cpu. */
async function activateAndCheck(name: string, what: string): Promise<BackendStatus> {
  let ref: Float32Array;
  try {
    ref = await cpuCheckOutput();
  } catch (e) {
    return { ok: false, name, detail: `cpu reference failed: ${errText(e)}` };
  }
  const set = await quietly(() => tf.setBackend(name));
  if (set.error !== undefined || set.value !== true) {
    const why =
      set.error !== undefined
        ? errText(set.error)
        : set.logged.join(' | ').split('\n')[0] || 'tf.setBackend returned false';
    return { ok: false, name, detail: `${what}: initialisation failed: ${why}` };
  }
  try {
    await tf.ready();
    const got = await checkConv2d();
    const diff = maxAbsDiff(got, ref);
    if (!(diff <= CHECK_TOLERANCE)) {
      return { ok: false, name, detail: `${what}: conv2d check differs from cpu by ${diff} (> ${CHECK_TOLERANCE})` };
    }
    return { ok: true, name, detail: `${what}; conv2d check vs cpu max|diff| ${diff.toExponential(1)}` };
  } catch (e) {
    return { ok: false, name, detail: `${what}: conv2d check threw: ${errText(e)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// cpu

async function initCpu(): Promise<BackendStatus> {
  try {
    const ref = await cpuCheckOutput();
    void ref;
    return { ok: true, name: 'cpu', detail: 'tfjs cpu backend; conv2d check vs plain JS passed' };
  } catch (e) {
    return { ok: false, name: 'cpu', detail: errText(e) };
  }
}

// ---------------------------------------------------------------------------------------------
// wasm

let wasmImported: Promise<string | null> | null = null;

async function initWasm(): Promise<BackendStatus> {
  wasmImported ??= import('@tensorflow/tfjs-backend-wasm').then(
    () => null,
    (e: unknown) => errText(e),
  );
  const importError = await wasmImported;
  if (importError !== null) {
    return { ok: false, name: 'wasm', detail: `cannot import @tensorflow/tfjs-backend-wasm: ${importError}` };
  }
  if (tf.findBackendFactory('wasm') == null) {
    return { ok: false, name: 'wasm', detail: '@tensorflow/tfjs-backend-wasm imported but registered no backend' };
  }
  const r = await activateAndCheck('wasm', 'tfjs wasm backend');
  if (r.ok) {
    let simd = '?';
    let threads = '?';
    try {
      simd = String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      threads = String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    } catch {
      /* flags are informational only */
    }
    r.detail = r.detail.replace('tfjs wasm backend', `tfjs wasm backend (simd ${simd}, threads ${threads})`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// webgpu (Dawn setup: @gmr-conv/core/node)

let webgpuKind: DawnAdapterKind | null = null;

async function initWebGPU(): Promise<BackendStatus> {
  const r = await registerNodeWebGPU();
  if (!r.ok) return { ok: false, name: 'webgpu', detail: r.detail };
  webgpuKind = r.kind ?? null;
  return activateAndCheck('webgpu', `tfjs webgpu backend on ${r.detail}`);
}

// ---------------------------------------------------------------------------------------------
// webgl

async function initWebGL(): Promise<BackendStatus> {
  if (tf.findBackendFactory('webgl') == null) {
    return {
      ok: false,
      name: 'webgl',
      detail:
        'WebGL needs a browser WebGL2 context; Node has none (tfjs-backend-webgl registers only in a browser). ' +
        'Run WebGL checks in headless chromium instead.',
    };
  }
  return activateAndCheck('webgl', 'tfjs webgl backend');
}

// ---------------------------------------------------------------------------------------------
// backends registered by kernel packages

const kernelModules = new Map<string, Promise<{ describe?: (name: string) => string; error?: string }>>();

/** Imports a kernel package (once); never throws. */
function importKernels(spec: string): Promise<{ describe?: (name: string) => string; error?: string }> {
  let p = kernelModules.get(spec);
  if (!p) {
    p = import(spec).then(
      (m: { describeBackend?: (name: string) => string }) => ({ describe: m.describeBackend }),
      (e: unknown) => ({ error: `cannot import ${spec}: ${errText(e)}` }),
    );
    kernelModules.set(spec, p);
  }
  return p;
}

/** Kernel modules to import for a backend core does not know: options.kernels, else GMR_KERNELS. */
export function kernelModuleSpecs(kernels?: string | string[]): string[] {
  const raw = kernels ?? process.env.GMR_KERNELS ?? '';
  return (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

async function initRegistered(name: string, kernels?: string | string[]): Promise<BackendStatus> {
  const specs = kernelModuleSpecs(kernels);
  const errors: string[] = [];
  let describe: ((n: string) => string) | undefined;
  for (const spec of specs) {
    const m = await importKernels(spec);
    if (m.error) errors.push(m.error);
    describe ??= m.describe;
  }
  if (tf.findBackendFactory(name) == null) {
    const why = describe ? describe(name) : errors.length ? errors.join('; ') : '';
    const hint = specs.length
      ? `not registered by ${specs.join(', ')}`
      : 'no kernel module given (--kernels-module MODULE or GMR_KERNELS)';
    return {
      ok: false,
      name,
      detail: `unknown backend '${name}' (known: ${BACKEND_NAMES.join(', ')}; ${hint})${why ? `: ${why}` : ''}`,
    };
  }
  return activateAndCheck(name, describe ? describe(name) : `backend ${name}`);
}

// ---------------------------------------------------------------------------------------------
// public API

/**
 * Makes `name` the active tfjs backend and checks it with a small conv2d against cpu.
 * Never throws: {ok: false, detail: reason} when the backend cannot be used here.
 */
export async function initBackend(
  name: BackendName | (string & {}),
  options: { kernels?: string | string[] } = {},
): Promise<BackendStatus> {
  try {
    switch (name) {
      case 'cpu':
        return await initCpu();
      case 'wasm':
        return await initWasm();
      case 'webgpu':
        return await initWebGPU();
      case 'webgl':
        return await initWebGL();
      default:
        return await initRegistered(String(name), options.kernels);
    }
  } catch (e) {
    return { ok: false, name: String(name), detail: `unexpected error: ${errText(e)}` };
  }
}

/**
 * Names of the backends that initialise and pass the conv2d check here, in the order cpu, wasm, webgpu, webgl.
 * Leaves the backend that was active before (or cpu) active.
 */
export async function availableBackends(): Promise<string[]> {
  let previous: string | null = null;
  try {
    previous = tf.getBackend() ?? null;
  } catch {
    previous = null;
  }
  const ok: string[] = [];
  for (const name of BACKEND_NAMES) {
    const r = await initBackend(name);
    if (r.ok) ok.push(name);
  }
  try {
    await tf.setBackend(previous && ok.includes(previous) ? previous : 'cpu');
    await tf.ready();
  } catch {
    /* keep whatever is active */
  }
  return ok;
}

/** Which WebGPU adapter initBackend('webgpu') found (after a successful call), e.g. 'gles'. */
export async function webgpuAdapterKind(): Promise<DawnAdapterKind | null> {
  return webgpuKind;
}

/**
 * Releases the WebGPU device and deletes navigator.gpu so Dawn does not keep Node alive; makes cpu active
 * if webgpu was. Safe to call more than once; initBackend('webgpu') works again afterwards.
 */
export function disposeBackends(): void {
  releaseNodeWebGPU();
  webgpuKind = null;
}
