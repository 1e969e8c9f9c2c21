import shared from '../../vitest.shared.ts';

// The browser test builds nothing itself: `pnpm test` runs `vite build` first (see package.json).
export default { test: { ...shared.test, testTimeout: 180_000, hookTimeout: 180_000 } };
