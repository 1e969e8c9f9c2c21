import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/**
 * tfjs-backend-wasm's binaries, served offline by the page itself: emitted into dist/tfjs-wasm/ by the build and
 * served from the package by the dev server; the page points setWasmPaths at tfjs-wasm/.
 */
const WASM_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
  'dist',
);
export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

function tfjsWasm(): Plugin {
  return {
    name: 'gmr-tfjs-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0].match(/\/tfjs-wasm\/([\w.-]+\.wasm)$/)?.[1];
        if (!name || !WASM_FILES.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        createReadStream(join(WASM_DIR, name)).pipe(res);
      });
    },
    generateBundle() {
      for (const name of WASM_FILES)
        this.emitFile({
          type: 'asset',
          fileName: `tfjs-wasm/${name}`,
          source: new Uint8Array(readFileSync(join(WASM_DIR, name))),
        });
    },
  };
}

export default defineConfig({
  // relative URLs: dist/ works from any folder of a static server
  base: './',
  plugins: [tfjsWasm()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
  preview: { host: '127.0.0.1' },
});
