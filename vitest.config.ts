import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/test/**/*.test.ts'],
    // Every file ends by checking that no secret reached a log line or an error response.
    setupFiles: ['test/setup/secret-capture.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // expect.poll waits for something the test cannot await directly (a page re-rendering after a
    // request, a background job). Vitest gives up after 1 s by default, which a browser flow of
    // several requests can overrun on a loaded two-core machine; wait as long as a Playwright
    // action does (10 s, web/test/harness.ts). A poll that passes still passes at once.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    // Tests wait on databases and sockets more than on the CPU; a few files at a time keeps both cores busy.
    maxWorkers: 3,
    reporters: ['default'],
  },
});
