import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: tests start real servers, CLI processes and stores, and a busy
    // machine must not fail them; none measures speed against these limits.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Suites start real servers and stores; two cores do not gain from more.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
