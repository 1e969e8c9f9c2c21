import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps global engine state: one worker per file, files in sequence (2-core machines).
    pool: 'forks',
    fileParallelism: false,
  },
});
