/**
 * The kernel layout cannot drift from the names: every src/kernels/<Name>.ts registers exactly the kernel <Name> and
 * is in the one register list, helper files register none, every gradients/<Name>_grad.ts replaces <Name>'s
 * gradient, every registered name is a tfjs-core constant or a constant exported by this package or by core, and no
 * file names a kernel by a string literal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tfc from '@tensorflow/tfjs-core';
import * as core from '@gmr-conv/core';
import * as seam from '@gmr-conv/core/kernel';
import * as pkg from '../src/index.js';
import { nativeKernelConfigs } from '../src/register_all_kernels.js';
import { nativeGradConfigs } from '../src/register_all_gradients.js';

const dir = (sub: string) => new URL(`../src/${sub}/`, import.meta.url);
const files = (sub: string) =>
  readdirSync(dir(sub))
    .filter((f) => f.endsWith('.ts'))
    .sort();
/** Kernel files are named after their kernel (tfjs's PascalCase, or _FusedMatMul); helpers are snake_case. */
const isKernelFile = (f: string) => /^[A-Z_][A-Za-z0-9]*\.ts$/.test(f);
const stem = (f: string) => f.replace(/\.ts$/, '');

const isKernelConfig = (v: unknown): v is tf_KernelConfig =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as tf_KernelConfig).kernelName === 'string' &&
  typeof (v as tf_KernelConfig).kernelFunc === 'function';
const isGradConfig = (v: unknown): v is { kernelName: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { kernelName?: unknown }).kernelName === 'string' &&
  typeof (v as { gradFunc?: unknown }).gradFunc === 'function';
type tf_KernelConfig = { kernelName: string; kernelFunc: unknown };

const load = (sub: string, f: string) => import(`../src/${sub}/${stem(f)}.ts`) as Promise<Record<string, unknown>>;

/** A constant (SCREAMING_CASE, or tfjs's PascalCase equal to its value) whose value is `name`. */
const exportsConstant = (mod: object, name: string) =>
  Object.entries(mod).some(([k, v]) => v === name && (k === name || /^[A-Z][A-Z0-9_]*$/.test(k)));
/** Where a registered kernel name may come from: tfjs-core's kernel names, this package's, core's. */
const namedByConstant = (name: string) =>
  exportsConstant(tfc, name) ||
  exportsConstant(pkg, name) ||
  exportsConstant(seam, name) ||
  exportsConstant(core, name);

describe('one kernel per file, named by constants', () => {
  it('the name check itself tells a constant from a made-up name', () => {
    expect(namedByConstant('Add')).toBe(true);
    expect(namedByConstant('NativeReluGrad')).toBe(true);
    expect(namedByConstant('GMRConv2DBackpropFilter')).toBe(true);
    expect(namedByConstant('AddV3')).toBe(false);
    expect(namedByConstant('native')).toBe(false);
  });

  it('every kernels/<Name>.ts exports one config, for the kernel <Name>, and it is in the register list', async () => {
    const kernelFiles = files('kernels').filter(isKernelFile);
    expect(kernelFiles.length).toBeGreaterThan(25);
    for (const f of kernelFiles) {
      const configs = Object.values(await load('kernels', f)).filter(isKernelConfig);
      expect(
        configs.map((c) => c.kernelName),
        f,
      ).toEqual([stem(f)]);
      expect(nativeKernelConfigs, `${f}'s config registered`).toContain(configs[0]);
    }
  });

  it('helper files (*_impl.ts, native_util.ts) register no kernel', async () => {
    for (const f of files('kernels').filter((f) => !isKernelFile(f))) {
      expect(
        Object.values(await load('kernels', f))
          .filter(isKernelConfig)
          .map((c) => c.kernelName),
        f,
      ).toEqual([]);
    }
  });

  it('the register list: each name once, each a constant, each from its own file; NATIVE_KERNELS is the list', () => {
    const names = nativeKernelConfigs.map((c) => c.kernelName);
    expect(new Set(names).size, 'no name twice').toBe(names.length);
    const kernelFiles = new Set(files('kernels').filter(isKernelFile).map(stem));
    for (const n of names) {
      expect(namedByConstant(n), `${n} is a tfjs-core or exported constant`).toBe(true);
      expect(kernelFiles.has(n), `kernels/${n}.ts exists`).toBe(true);
    }
    expect([...pkg.NATIVE_KERNELS]).toEqual(names);
  });

  it('every gradients/<Name>_grad.ts replaces the gradient of <Name> (a tfjs-core kernel) and is registered', async () => {
    const gradFiles = files('gradients').filter((f) => f.endsWith('_grad.ts'));
    expect(gradFiles.length).toBe(nativeGradConfigs.length);
    for (const f of gradFiles) {
      const configs = Object.values(await load('gradients', f)).filter(isGradConfig);
      expect(
        configs.map((c) => c.kernelName),
        f,
      ).toEqual([f.replace(/_grad\.ts$/, '')]);
      expect(exportsConstant(tfc, configs[0]!.kernelName)).toBe(true);
      expect(nativeGradConfigs).toContain(configs[0]);
    }
  });

  it('no source file names a kernel by a string literal', () => {
    // A literal as the kernel argument of these calls, or as a config's kernelName, is how names drifted before.
    // (A template literal that starts with a substitution, `${name}:fallback`, is built from a constant.)
    const quote = '(?:[\'"]|`(?!\\$\\{))';
    const literal = new RegExp(
      `\\b(?:nativeKernel|cpuKernel|count|runKernel|getKernel|getGradient|unaryKernelFunc|binaryKernelFunc|reduceKernelFunc)\\(\\s*${quote}|\\bkernelName:\\s*${quote}`,
    );
    expect(literal.test("nativeKernel('Add', add)")).toBe(true);
    expect(literal.test('{ kernelName: "Add" }')).toBe(true);
    expect(literal.test('count(`${name}:fallback`)')).toBe(false);
    const sources = [
      ...files('kernels').map((f) => `kernels/${f}`),
      ...files('gradients').map((f) => `gradients/${f}`),
      'register_all_kernels.ts',
      'register_all_gradients.ts',
      'index.ts',
    ];
    const offenders = sources.filter((f) =>
      literal.test(readFileSync(new URL(`../src/${f}`, import.meta.url), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
