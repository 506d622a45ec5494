import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/test/**/*.test.ts'],
    // Every file ends by checking that no secret reached a log line or an error response.
    setupFiles: ['test/setup/secret-capture.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Tests wait on databases and sockets more than on the CPU; a few files at a time keeps both cores busy.
    maxWorkers: 3,
    reporters: ['default'],
  },
});
