import { fileURLToPath } from 'node:url';
import shared from '../../vitest.shared.ts';

// @gmr-conv/test-utils' model oracle imports models by name: in models' own tests that is this source tree, not dist.
export default {
  ...shared,
  resolve: {
    alias: [{ find: /^@gmr-conv\/models$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }],
  },
};
