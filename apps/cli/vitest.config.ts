import shared from '../../vitest.shared.ts';

// Training and kill/resume tests take longer than the other packages' tests.
export default { test: { ...shared.test, testTimeout: 150_000, hookTimeout: 150_000 } };
