/**
 * Headless Debian Chromium for browser tests and benchmarks (shared by apps/web and packages/kernels-webgpu).
 *
 *   import { launchChromium, chromiumPath } from '../../scripts/chromium.mjs';
 *   const browser = await launchChromium(playwright.chromium, { webgpu: true });
 *
 * Never lets Playwright download a browser: uses /usr/bin/chromium (Debian package `chromium`, which
 * scripts/test-all.sh installs when missing) or $GMR_CHROMIUM. The flags are the ones this kind of machine needs
 * (a closed network, running as root, no GPU): `--enable-unsafe-webgpu` gives a SwiftShader WebGPU adapter, and
 * WebGL runs on SwiftShader as well.
 */
import { existsSync } from 'node:fs';

export const chromiumPath = process.env.GMR_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** True when the Chromium binary exists (tests that need it fail with this message otherwise). */
export function chromiumAvailable() {
  return existsSync(chromiumPath);
}

/**
 * Launch headless Chromium with playwright-core's `chromium` BrowserType.
 * @param {import('playwright-core').BrowserType} browserType
 * @param {{webgpu?: boolean, args?: string[]}} [options]
 */
export async function launchChromium(browserType, options = {}) {
  if (!chromiumAvailable()) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: install Debian's 'chromium' package (scripts/test-all.sh does) or set GMR_CHROMIUM`,
    );
  }
  const args = [...CHROMIUM_FLAGS, ...(options.webgpu ? ['--enable-unsafe-webgpu'] : []), ...(options.args ?? [])];
  // Playwright gives every launch a fresh temporary profile (it refuses a --user-data-dir flag)
  return browserType.launch({ executablePath: chromiumPath, headless: true, args });
}
