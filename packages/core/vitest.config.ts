import { fileURLToPath } from 'node:url';
import shared from '../../vitest.shared.ts';

// @gmr-conv/test-utils imports core by name. In core's own tests that name must be this source tree, not dist: one
// copy of core (its kernels and gradients register once) and the tests check the code as it is, built or not.
const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));
export default {
  ...shared,
  resolve: {
    alias: [
      { find: /^@gmr-conv\/core$/, replacement: src('index.ts') },
      { find: /^@gmr-conv\/core\/(.*)$/, replacement: src('$1/index.ts') },
    ],
  },
};
