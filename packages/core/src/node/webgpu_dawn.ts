/**
 * WebGPU in Node through Dawn (npm `webgpu`), for the tfjs webgpu backend:
 *
 *   const r = await registerNodeWebGPU();   // {ok, detail, kind?}; never throws
 *   if (r.ok) await tf.setBackend('webgpu');
 *   ...
 *   releaseNodeWebGPU();                     // at the end, or Dawn keeps Node alive
 *
 * Adapters, in this order (GMR_WEBGPU_ADAPTER=gles|swiftshader|vulkan forces one):
 *   1. Mesa llvmpipe via GLES (EGL_PLATFORM=surfaceless, backend=opengles, featureLevel 'compatibility');
 *      Debian: libegl-dev libegl-mesa0 libgl1-mesa-dri;
 *   2. Dawn Vulkan on the driver VK_ICD_FILENAMES names (a real GPU's), else SwiftShader Vulkan shipped by Debian
 *      chromium (/usr/lib/chromium/vk_swiftshader_icd.json); Debian: chromium libvulkan1.
 * The backend factory is tfjs-backend-webgpu's own, registered here (whether that module was imported before
 * navigator.gpu existed, when it registers nothing, or after), asking also for the adapter's storage-buffer limit.
 * `webgpu` and `@tensorflow/tfjs-backend-webgpu` are optional peer dependencies: install them to use this.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';

export type DawnAdapterKind = 'gles' | 'swiftshader';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeWebGPUStatus {
  ok: boolean;
  /** The adapter found, or why none could be used (every adapter tried, with its reason). */
  detail: string;
  kind?: DawnAdapterKind;
}

interface MinimalAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  readonly features?: { has(name: string): boolean };
  readonly limits?: Record<string, number>;
  requestDevice(desc?: unknown): Promise<{ destroy(): void }>;
}
interface MinimalGPU {
  requestAdapter(options?: Record<string, unknown>): Promise<MinimalAdapter | null>;
}
interface WebGPUModule {
  create(options: string[]): MinimalGPU;
  globals: object;
}
interface WebGPUBackendModule {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
}

let setup: Promise<NodeWebGPUStatus> | null = null;
let exposedGpu: MinimalGPU | null = null;
let registered: Promise<NodeWebGPUStatus> | null = null;

const errText = (e: unknown) => (e instanceof Error ? (e.message.split('\n')[0] ?? String(e)) : String(e));

function describeAdapter(a: MinimalAdapter): string {
  const i = a.info ?? {};
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s): s is string => !!s && s.length > 0);
  return parts.length ? [...new Set(parts)].join(' / ') : 'unnamed adapter';
}

function navigatorObject(): Record<string, unknown> {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator == null)
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true, enumerable: true });
  return g.navigator!;
}

function adapterOrder(): DawnAdapterKind[] {
  const forced = (process.env.GMR_WEBGPU_ADAPTER ?? '').toLowerCase();
  if (forced === 'gles') return ['gles'];
  if (forced === 'swiftshader' || forced === 'vulkan') return ['swiftshader'];
  return ['gles', 'swiftshader'];
}

/** Opens Dawn on the first adapter that gives a device and defines navigator.gpu with it. */
async function openDawn(): Promise<NodeWebGPUStatus> {
  let mod: WebGPUModule;
  try {
    mod = (await import('webgpu')) as unknown as WebGPUModule;
  } catch (e) {
    return { ok: false, detail: `cannot load npm 'webgpu' (Dawn; install it next to @gmr-conv/core): ${errText(e)}` };
  }
  Object.assign(globalThis, mod.globals);
  const tried: string[] = [];
  for (const kind of adapterOrder()) {
    let gpu: MinimalGPU;
    let options: Record<string, unknown> = {};
    try {
      if (kind === 'gles') {
        // Mesa's EGL reads this when Dawn opens the display (process.env writes reach getenv()).
        process.env.EGL_PLATFORM ??= 'surfaceless';
        if (
          !existsSync('/usr/lib/x86_64-linux-gnu/libEGL_mesa.so.0') &&
          !existsSync('/usr/lib/aarch64-linux-gnu/libEGL_mesa.so.0')
        ) {
          tried.push('gles: Mesa EGL missing (Debian libegl-dev libegl-mesa0 libgl1-mesa-dri)');
          continue;
        }
        gpu = mod.create(['backend=opengles']);
        options = { featureLevel: 'compatibility' };
      } else {
        if (!process.env.VK_ICD_FILENAMES) {
          if (!existsSync(SWIFTSHADER_ICD)) {
            tried.push(`swiftshader: ${SWIFTSHADER_ICD} missing (Debian chromium libvulkan1)`);
            continue;
          }
          process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
        }
        gpu = mod.create(['backend=vulkan']);
      }
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) {
        tried.push(`${kind}: requestAdapter returned null`);
        continue;
      }
      // A device must really come up (Dawn rejects some drivers only here).
      (await adapter.requestDevice()).destroy();
      // tfjs asks for an adapter without our options: pass them on every request.
      const original = gpu.requestAdapter.bind(gpu);
      const wrapped: MinimalGPU['requestAdapter'] = (o?: Record<string, unknown>) =>
        original({ ...(o ?? {}), ...options });
      const gpuObject = gpu as unknown as Record<string, unknown>;
      try {
        gpuObject.requestAdapter = wrapped;
      } catch {
        /* read-only: the proxy below */
      }
      const exposed: MinimalGPU =
        gpuObject.requestAdapter === wrapped
          ? gpu
          : (new Proxy(gpu as object, {
              get: (t, p) => (p === 'requestAdapter' ? wrapped : Reflect.get(t, p)),
            }) as MinimalGPU);
      Object.defineProperty(navigatorObject(), 'gpu', {
        value: exposed,
        configurable: true,
        writable: true,
        enumerable: true,
      });
      exposedGpu = exposed;
      return {
        ok: true,
        kind,
        detail: `${kind === 'gles' ? 'Dawn GLES (compatibility)' : 'Dawn Vulkan'}: ${describeAdapter(adapter)}`,
      };
    } catch (e) {
      tried.push(`${kind}: ${errText(e)}`);
    }
  }
  return { ok: false, detail: `no WebGPU adapter: ${tried.join('; ')}` };
}

/** Same factory as tfjs-backend-webgpu's own registration, over the Dawn adapter. */
function registerWebGPUFactory(m: WebGPUBackendModule): void {
  tf.registerBackend(
    'webgpu',
    async () => {
      const gpu = exposedGpu;
      if (!gpu) throw new Error('navigator.gpu is not set up (call registerNodeWebGPU first)');
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('requestAdapter returned null');
      const requiredFeatures: string[] = [];
      if (adapter.features?.has('timestamp-query')) requiredFeatures.push('timestamp-query');
      const l = adapter.limits ?? {};
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          // tfjs's own factory leaves this at the default (8 under GLES compatibility): AddN over the many
          // gradients of a training step needs more (Mesa's adapter offers 16).
          maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        },
      });
      return new m.WebGPUBackend(device, adapter.info);
    },
    3,
  );
}

async function register(): Promise<NodeWebGPUStatus> {
  setup ??= openDawn();
  const s = await setup;
  if (!s.ok) return s;
  let m: WebGPUBackendModule;
  try {
    m = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as WebGPUBackendModule;
  } catch (e) {
    return { ok: false, detail: `cannot import @tensorflow/tfjs-backend-webgpu: ${errText(e)}` };
  }
  // tfjs registered its own factory if navigator.gpu existed when it was imported: replace it by ours (the same,
  // with the adapter's limits), unless a webgpu backend is already running.
  const engine = tf.engine() as unknown as { registry: Record<string, unknown> };
  if (engine.registry['webgpu'] == null) {
    if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
    registerWebGPUFactory(m);
  }
  return s;
}

/**
 * Makes the tfjs 'webgpu' backend available in Node (Dawn, see above); then `tf.setBackend('webgpu')`.
 * Never throws; cached (call releaseNodeWebGPU to start over).
 */
export function registerNodeWebGPU(): Promise<NodeWebGPUStatus> {
  registered ??= register().catch((e: unknown) => ({ ok: false, detail: `unexpected error: ${errText(e)}` }));
  return registered;
}

/**
 * Releases the WebGPU device and deletes navigator.gpu so that Dawn does not keep Node alive; makes cpu active
 * if webgpu was (and cpu is registered). Safe to call more than once; registerNodeWebGPU works again afterwards.
 */
export function releaseNodeWebGPU(): void {
  try {
    const engine = tf.engine() as unknown as { registry: Record<string, unknown>; backendName: string | null };
    const backend = engine.registry['webgpu'] as { device?: { destroy(): void } } | undefined;
    if (backend) {
      if (engine.backendName === 'webgpu' && tf.findBackendFactory('cpu') != null) void tf.setBackend('cpu');
      tf.removeBackend('webgpu');
      try {
        backend.device?.destroy();
      } catch {
        /* already destroyed */
      }
    } else if (tf.findBackendFactory('webgpu') != null) {
      tf.removeBackend('webgpu');
    }
  } catch {
    /* nothing to release */
  }
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  if (nav && 'gpu' in nav) {
    try {
      delete nav.gpu;
    } catch {
      /* non-configurable: leave it */
    }
  }
  exposedGpu = null;
  setup = null;
  registered = null;
}
