/**
 * core's `pnpm oracle [files or folders] [--backend NAME]`: checks the layer, 45° and reference-behaviour oracle vectors
 * (fixtures/oracle/README.md) and prints one line per file with its largest
 * errors, then `N passed, N failed`; exits non-zero on any failure.
 */
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { initBackend } from '../backends.js';
import { defaultOracleDir, listVectorFiles, readVector } from './load.js';
import { checkLayerCase, type CaseResult } from './layer_case.js';
import { gmrConv2d } from '@gmr-conv/core';

export async function runOracle(
  targets: string[],
  backend: string,
  log: (s: string) => void = console.log,
): Promise<{ passed: number; failed: number; results: CaseResult[] }> {
  const init = await initBackend(backend as any);
  if (!init.ok) throw new Error(`oracle: backend '${backend}' is not available here: ${init.detail}`);
  // With a kernel package's GMR kernels, core keeps one empty placeholder per backend for absent inputs (made on
  // first use): one tiny call makes it now, so that the per-file leak check does not count it.
  tf.tidy(() => gmrConv2d(tf.ones([1, 3, 3, 1]), { weight: tf.ones([1, 1, 2]) }, { kernelSize: 3 }));
  const files = listVectorFiles(targets.length ? targets : [defaultOracleDir()]);
  let passed = 0;
  let failed = 0;
  const results: CaseResult[] = [];
  for (const file of files) {
    const json = readVector(file);
    const kind = json?.meta?.kind;
    let r: CaseResult;
    try {
      if (kind === 'layer') r = await checkLayerCase(json);
      else if (kind === 'equivariance45') {
        const { checkEquivariance45CaseAsync } = await import('./equivariance45_case.js');
        r = await checkEquivariance45CaseAsync(json, {});
      } else if (kind === 'reference_behaviour') {
        const { checkReferenceBehaviour } = await import('./behaviour_case.js');
        r = await checkReferenceBehaviour(json);
      } else {
        log(`SKIP ${path.basename(file)}: kind '${kind}' is checked by another package's oracle`);
        continue;
      }
    } catch (e) {
      r = { name: path.basename(file), ok: false, worst: {}, messages: [`threw: ${(e as Error).message}`] };
    }
    results.push(r);
    if (r.ok) passed++;
    else failed++;
    const worst = Object.entries(r.worst)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k}=${v.toExponential(1)}`)
      .join(' ');
    log(
      `${r.ok ? 'PASS' : 'FAIL'} ${path.basename(file)} [${tf.getBackend()}] ${worst}${r.messages.length ? ' | ' + r.messages.join('; ') : ''}`,
    );
  }
  log(`${passed} passed, ${failed} failed`);
  return { passed, failed, results };
}

/** The `pnpm oracle` command of @gmr-conv/core (argv as process.argv). */
export async function oracleMain(argv: string[]): Promise<void> {
  const program = new Command()
    .name('oracle')
    .description('Check GMR-Conv oracle vectors against this implementation')
    .argument('[targets...]', 'vector files or folders (default: fixtures/oracle/vectors)')
    .option('--backend <name>', 'tfjs backend: cpu, wasm, webgpu', 'cpu')
    .action(async (targets: string[], opts: { backend: string }) => {
      try {
        // pnpm runs package scripts in the package folder: resolve paths from where the user typed the command.
        const base = process.env.INIT_CWD ?? process.cwd();
        const { failed } = await runOracle(
          targets.map((t) => path.resolve(base, t)),
          opts.backend,
        );
        process.exitCode = failed > 0 ? 1 : 0;
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = 2;
      }
    });
  await program.parseAsync(argv);
}
