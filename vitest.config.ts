import { defineConfig } from 'vitest/config'

// The suite runs against a real Temporal dev server and PostgreSQL, which tests/support/global-setup.ts starts
// (docs/decisions/006-tests-against-real-services.md). `./platform test` is the way in; `npx vitest run` works too.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Forks rather than threads: the Temporal worker's native runtime and Prisma's pools behave best with a
    // process each, and forked processes inherit the environment the global setup exported.
    pool: 'forks',
    // Two cores, but the tests mostly wait on timers and I/O: a few files side by side help; more only queue
    // behind each other and stretch the billing tests' clocks.
    poolOptions: { forks: { minForks: 1, maxForks: 3 } },
    testTimeout: 60_000,
    // beforeAll hooks bundle workflow code, build the web app when it is stale and start workers and web
    // servers; on two busy cores that has taken over two minutes.
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    globalSetup: ['tests/support/global-setup.ts'],
    setupFiles: ['tests/support/fail-on-console-error.ts'],
  },
})
