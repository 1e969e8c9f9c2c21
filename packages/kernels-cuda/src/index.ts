/**
 * @gmr-conv/kernels-cuda: importing this module registers the TensorFlow.js backends
 *   'native': the host build of the addon (threads, AVX2 when the CPU has it), whenever build/gmr_host.node loads;
 *   'cuda':   the CUDA build (build/gmr_cuda.node), only when it loads and a CUDA device answers.
 * Neither becomes the default backend (priority 0): call tf.setBackend('native').
 * Each backend runs the kernels of NATIVE_KERNELS natively and every other tfjs kernel with the cpu backend's
 * implementation on the same storage. nativeStatus() says why a backend is missing.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { invalid } from '@gmr-conv/core';
import {
  FIELD_BATCH_NORM,
  FIELD_BATCH_NORM_GRAD,
  FIELD_INVARIANTS,
  FIELD_INVARIANTS_GRAD,
  FIELD_GATE,
  FIELD_GATE_GRAD,
  setSteerablePath,
  STEERABLE_CONV,
  STEERABLE_CONV_BACKPROP_FILTER,
  STEERABLE_CONV_BACKPROP_INPUT,
} from '@gmr-conv/core/kernel';
import '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon.js';
import { NativeBackend } from './backend.js';
import { registerNativeGradients } from './register_all_gradients.js';
import { nativeKernelConfigs } from './register_all_kernels.js';

export { NativeBackend } from './backend.js';
export { loadAddon, addonFile, type NativeAddon, type BuildKind } from './addon.js';
export { kernelCallCounts, resetKernelCallCounts } from './counters.js';
export { ringTaps, unsupportedReason } from './kernels/gmr_conv_impl.js';
export {
  NativeBatchNormGrad,
  NativeReluGrad,
  NativeOptimizerUpdate,
  type NativeOptimizerUpdateAttrs,
} from './kernel_names.js';
export { optimizerSlots } from './kernels/NativeOptimizerUpdate.js';

export type NativeBackendName = 'native' | 'cuda';

export interface NativeStatus {
  ok: boolean;
  /** What runs (build, SIMD level, threads, device) or why the backend is not registered. */
  detail: string;
}

const status: Record<NativeBackendName, NativeStatus> = {
  native: { ok: false, detail: 'not registered' },
  cuda: { ok: false, detail: 'not registered' },
};
const addons: Partial<Record<NativeBackendName, NativeAddon>> = {};

/** The kernel configs of one native backend: every cpu kernel (the fallback), then the native ones over them. */
function kernelConfigs(name: NativeBackendName): tf.KernelConfig[] {
  const native = nativeKernelConfigs.map((c) => ({ ...c, backendName: name }));
  const nativeNames = new Set(native.map((c) => c.kernelName));
  const fallback = tf
    .getKernelsForBackend('cpu')
    .filter((c) => !nativeNames.has(c.kernelName))
    .map((c) => ({ ...c, backendName: name }));
  return [...fallback, ...native];
}

const FUSED_STEERABLE_KERNELS: readonly string[] = [
  FIELD_GATE,
  FIELD_GATE_GRAD,
  FIELD_BATCH_NORM,
  FIELD_BATCH_NORM_GRAD,
  FIELD_INVARIANTS,
  FIELD_INVARIANTS_GRAD,
];

const STEERABLE_BLOCK_KERNELS: readonly string[] = [
  STEERABLE_CONV,
  STEERABLE_CONV_BACKPROP_INPUT,
  STEERABLE_CONV_BACKPROP_FILTER,
];

/** Names of the kernels that run natively (the rest use the cpu backend's implementation). */
export const NATIVE_KERNELS: readonly string[] = nativeKernelConfigs.map((c) => c.kernelName);

function registerAs(name: NativeBackendName, addon: NativeAddon): void {
  addons[name] = addon;
  // The native gradients (batch norm, Mean) replace tfjs's registered ones; registered again when the backend is made,
  // in case @tensorflow/tfjs registered its gradients after this module was imported.
  const make = () => (registerNativeGradients(), new NativeBackend(addon, name));
  if (tf.findBackendFactory(name) == null) tf.registerBackend(name, make, 0);
  // GMR_FUSED_STEERABLE=0 leaves out the fused gate, field batch norm and invariants and keeps the steerable conv on
  // 'dense', as before issue 17's steerable work: the "before" side of bench/steerable_ab.mjs.
  const steerableOff = process.env.GMR_FUSED_STEERABLE === '0';
  // GMR_STEERABLE_BLOCKS=0 leaves out the steerable block kernels (the 'rings' path then runs the plain GMR kernels
  // over the whole mixing operand): the "before" side of their timing.
  const blocksOff = steerableOff || process.env.GMR_STEERABLE_BLOCKS === '0';
  for (const c of kernelConfigs(name)) {
    if (steerableOff && FUSED_STEERABLE_KERNELS.includes(c.kernelName)) continue;
    if (blocksOff && STEERABLE_BLOCK_KERNELS.includes(c.kernelName)) continue;
    if (tf.getKernel(c.kernelName, name)) tf.unregisterKernel(c.kernelName, name);
    tf.registerKernel(c);
  }
  // The steerable conv through the GMR kernels on its angle-weighted masks (the cos/sin ring sums of every tap in one
  // pass, one product over the rows) beats the synthesised dense kernel through Conv2D: README, "Steerable GMR-CNN".
  setSteerablePath(name, steerableOff ? 'dense' : 'rings');
}

/** Registers 'native' and, when a device answers, 'cuda'. Safe to call again (after tf.removeBackend, say). */
export function registerNativeBackends(): Record<NativeBackendName, NativeStatus> {
  const host = loadAddon('host');
  if (host.addon) {
    registerAs('native', host.addon);
    const i = host.addon.info();
    // Say which binary loaded: a prebuilt one and a source build behave the same but are fixed differently.
    const from = host.file.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuilt' : 'built from source';
    status.native = { ok: true, detail: `host build (${i.simd}, ${i.threads} threads), ${from}` };
  } else status.native = { ok: false, detail: host.error! };

  const cuda = loadAddon('cuda');
  if (!cuda.addon) status.cuda = { ok: false, detail: cuda.error! };
  else {
    const d = cuda.addon.deviceInfo?.() ?? { ok: false, count: 0, name: '', error: 'the CUDA build has no deviceInfo' };
    if (!d.ok) status.cuda = { ok: false, detail: `CUDA build loaded but no CUDA device answers: ${d.error}` };
    else {
      registerAs('cuda', cuda.addon);
      status.cuda = { ok: true, detail: `CUDA build on ${d.name} (${d.count} device${d.count === 1 ? '' : 's'})` };
    }
  }
  return nativeStatus();
}

/** Whether 'native' and 'cuda' are registered, and what runs or why not. */
export function nativeStatus(): Record<NativeBackendName, NativeStatus> {
  return { native: { ...status.native }, cuda: { ...status.cuda } };
}

/** The addon's thread-pool limit (native/thread_pool.cc). */
const MAX_THREADS = 256;

/** The addon behind backend `name`, or a GMRValueError naming the value, the registered backends and why `name` is not one. */
function registeredAddon(fn: string, name: NativeBackendName): NativeAddon {
  const a = addons[name];
  if (a) return a;
  const registered = (Object.keys(addons) as NativeBackendName[]).map((n) => `'${n}'`);
  const why = Object.hasOwn(status, name)
    ? `'${name}' is not: ${status[name].detail}`
    : `'native' or 'cuda' when registered`;
  return invalid(
    `@gmr-conv/kernels-cuda ${fn}`,
    'name',
    name,
    `a registered native backend (${registered.length ? registered.join(', ') : 'none is'}; ${why})`,
  );
}

/** Native buffers alive in the addon of `name` (count, bytes, allocations so far): the leak check. */
export function liveNativeBuffers(name: NativeBackendName = 'native'): {
  count: number;
  bytes: number;
  allocations: number;
  cachedBytes: number;
} {
  const a = registeredAddon('liveNativeBuffers', name);
  const live = a.liveBuffers();
  // The backend's spare buffers (kept for reuse) are live to the addon but hold no data: count them as cached.
  const b = tf.engine().registry[name] as NativeBackend | undefined;
  const spare = b?.spareBuffers?.() ?? { count: 0, bytes: 0 };
  return {
    ...live,
    count: live.count - spare.count,
    bytes: live.bytes - spare.bytes,
    cachedBytes: live.cachedBytes + spare.bytes,
  };
}

/** Sets the host threads of `name`'s addon (default 2, or GMR_NATIVE_THREADS); returns the count in use. */
export function setNumThreads(n: number, name: NativeBackendName = 'native'): number {
  // The pool would clamp silently; a count outside its range is a mistake worth saying.
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    invalid('@gmr-conv/kernels-cuda setNumThreads', 'n', n, `an integer from 1 to ${MAX_THREADS}`);
  const a = registeredAddon('setNumThreads', name);
  return a.setThreads(n);
}

/** A one-line description for backend setup tools (@gmr-conv/test-utils/backends, the root scripts). */
export function describeBackend(name: string): string {
  return name === 'native' || name === 'cuda'
    ? `@gmr-conv/kernels-cuda ${name}: ${status[name].detail}`
    : `unknown backend ${name}`;
}

registerNativeBackends();
