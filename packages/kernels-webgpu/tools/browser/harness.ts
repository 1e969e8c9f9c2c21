/**
 * Node side of the headless-Chromium runs (test/chromium.test.ts and `pnpm bench webgpu --runtime chromium`):
 * bundles tools/browser/page.ts with esbuild (tfjs, tfjs-backend-webgpu, core from source, this package from source),
 * serves it from 127.0.0.1 together with the oracle vectors (/oracle/<file>.json), and opens it in Debian's
 * Chromium through playwright-core with the repository's shared launcher (scripts/chromium.mjs, --enable-unsafe-webgpu).
 */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
// A namespace import on one line: the directive covers the next line only, and a named import list would wrap.
// @ts-expect-error -- plain .mjs shared with apps/web (no type declarations)
import * as chromiumScript from '../../../../scripts/chromium.mjs';
import type { GmrPage, InitResult } from './page.js';

const launchChromium = chromiumScript.launchChromium as (
  bt: typeof chromium,
  o: { webgpu?: boolean; args?: string[] },
) => Promise<Browser>;
export const chromiumAvailable = chromiumScript.chromiumAvailable as () => boolean;
export const chromiumPath = chromiumScript.chromiumPath as string;

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.resolve(here, '../..');
const coreSource = path.resolve(packageRoot, '../core/src/index.ts');
const coreKernelSource = path.resolve(packageRoot, '../core/src/kernel/index.ts');

/** The page bundle (ESM, browser). Node built-ins imported by the oracle tools of @gmr-conv/test-utils (never called there) become empty modules. */
export async function bundlePage(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [
      {
        name: 'gmr-page',
        setup(build) {
          // One copy of core, from source: this package, @gmr-conv/test-utils' cases and oracle checks import it by name
          // (the main entry and the /kernel subpath).
          build.onResolve({ filter: /^@gmr-conv\/core$/ }, () => ({ path: coreSource }));
          build.onResolve({ filter: /^@gmr-conv\/core\/kernel$/ }, () => ({ path: coreKernelSource }));
          build.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
          build.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({
            contents:
              'export default {}; export const readFileSync = undefined, existsSync = undefined, statSync = undefined, readdirSync = undefined, writeFileSync = undefined, join = undefined, resolve = undefined, dirname = undefined, basename = undefined, fileURLToPath = undefined;',
            loader: 'js',
          }));
        },
      },
    ],
  });
  return result.outputFiles[0]!.text;
}

const HTML =
  '<!doctype html><meta charset="utf-8"><title>gmr kernels-webgpu</title><script type="module" src="/page.js"></script>';

export interface ChromiumSession {
  page: Page;
  browser: Browser;
  url: string;
  /** Console lines of the page (for diagnostics). */
  console: string[];
  init: InitResult;
  close(): Promise<void>;
}

/**
 * Bundles and serves the page, launches Chromium with WebGPU and waits until the page is ready, then activates
 * webgpu there (init: adapter name, conv2d check against cpu). Throws when Chromium or the page fails.
 */
export async function openChromiumPage(
  options: { oracleDir?: string; onConsole?: (s: string) => void } = {},
): Promise<ChromiumSession> {
  const bundle = await bundlePage();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML);
    } else if (url.pathname === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else if (url.pathname.startsWith('/oracle/') && options.oracleDir) {
      const name = path.basename(decodeURIComponent(url.pathname.slice('/oracle/'.length)));
      const file = path.join(options.oracleDir, name);
      if (name.endsWith('.json') && fs.existsSync(file)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        fs.createReadStream(file).pipe(res);
      } else res.writeHead(404).end();
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  let browser: Browser;
  try {
    browser = await launchChromium(chromium, { webgpu: true });
  } catch (e) {
    await closeServer();
    throw e;
  }
  const lines: string[] = [];
  const close = async () => {
    await browser.close().catch(() => undefined);
    await closeServer();
  };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      const s = `[${m.type()}] ${m.text()}`;
      lines.push(s);
      options.onConsole?.(s);
    });
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'gmrPage' in globalThis, undefined, { timeout: 60_000 });
    const init = await page.evaluate(() => (globalThis as unknown as { gmrPage: GmrPage }).gmrPage.init());
    return { page, browser, url, console: lines, init, close };
  } catch (e) {
    await close();
    throw new Error(`${(e as Error).message}\npage console:\n${lines.join('\n')}`, { cause: e });
  }
}
