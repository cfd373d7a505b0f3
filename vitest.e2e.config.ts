import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: the extension in a real VS Code (code-server) driven by Chromium. Kept apart
// from the unit tests (`vitest run` only picks up test/**/*.test.ts).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 25 * 60_000,
  },
});
