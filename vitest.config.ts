import { defineConfig } from 'vitest/config'

// Two projects (decision 066): `unit` is the pure modules' tests beside their code, with no database,
// Redis or SMTP; `integration` gets a database, a Redis prefix, an SMTP listener and a port per file.
export default defineConfig({
  test: {
    pool: 'forks',
    isolate: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['app/**/*.test.ts'],
          // Enough configuration to import a module that reads it. Nothing listens on port 9: a unit
          // test that reaches for PostgreSQL or Redis fails rather than using a real one.
          env: {
            NODE_ENV: 'test',
            SESSION_SECRET: 'unit-tests-have-no-sessions-'.padEnd(40, 'x'),
            GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
            DATABASE_URL: 'postgres://none@127.0.0.1:9/none',
            DATABASE_OWNER_URL: 'postgres://none@127.0.0.1:9/none',
            REDIS_URL: 'redis://127.0.0.1:9',
          },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          globalSetup: ['tests/setup/global-setup.ts'],
          setupFiles: ['tests/setup/per-file.ts'],
          // Each file has its own database, Redis prefix, SMTP listener and server port.
          fileParallelism: true,
        },
      },
    ],
  },
})
