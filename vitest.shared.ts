/** The vitest settings every package shares (each package's vitest.config.ts re-exports or extends it). */
export default {
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps global engine state: one worker per file, files in sequence (2-core machines).
    pool: 'forks' as const,
    fileParallelism: false,
  },
};
