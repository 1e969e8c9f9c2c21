// Shared by the root bench and oracle scripts: the kernel package a backend needs (core imports none itself).
// `--backend native|cuda` → GMR_KERNELS = @gmr-conv/kernels-cuda's built module; `--kernels-module MODULE` names one
// explicitly (a specifier or a path). Returns the remaining arguments and the environment for the child.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KNOWN = {
  native: 'packages/kernels-cuda/dist/index.js',
  cuda: 'packages/kernels-cuda/dist/index.js',
};

export function kernelsEnv(argv) {
  const args = [];
  const specs = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--kernels-module') {
      const m = argv[++i] ?? '';
      specs.add(existsSync(path.resolve(m)) ? pathToFileURL(path.resolve(m)).href : m);
      continue;
    }
    if (a === '--backend' || a.startsWith('--backend=')) {
      const value = a === '--backend' ? (argv[i + 1] ?? '') : a.slice('--backend='.length);
      for (const b of value.split(',')) {
        const file = KNOWN[b];
        if (!file) continue;
        const abs = path.join(root, file);
        if (!existsSync(abs)) {
          console.error(`backend '${b}' needs @gmr-conv/kernels-cuda built (${file} is missing): run pnpm build`);
          process.exit(2);
        }
        specs.add(pathToFileURL(abs).href);
      }
    }
    args.push(a);
  }
  const env = { ...process.env };
  if (specs.size) env.GMR_KERNELS = [...(env.GMR_KERNELS ? env.GMR_KERNELS.split(',') : []), ...specs].join(',');
  return { args, env };
}
