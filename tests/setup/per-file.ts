/**
 * Before each test file: its own database (cloned from the migrated template), its own Redis key
 * prefix, its own SMTP listener and server port, and the environment the app reads at start.
 * Any console.error during a test fails it.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, afterEach, beforeEach, expect, inject, vi } from 'vitest'
import { ADMIN_URL, databaseUrls } from './database-urls.ts'
import { startSmtp } from './smtp.ts'
import { freePort } from './free-port.ts'


const name = `gh_t_${process.pid}_${randomBytes(4).toString('hex')}`
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`)
// The app (and every test) connects as the application role; the owner is there for the few tests
// that must tamper with the audit log as only the owner can.
const { ownerUrl, appUrl } = databaseUrls(name)
const port = await freePort()
const smtp = await startSmtp()

Object.assign(process.env, {
  NODE_ENV: 'test',
  DATABASE_URL: appUrl,
  DATABASE_OWNER_URL: ownerUrl,
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_PREFIX: `ghtest:${name}`,
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  GATEHOUSE_ENCRYPTION_KEYS: `t1:${randomBytes(32).toString('base64')}`,
  GATEHOUSE_HASH_KEYS: `h1:${randomBytes(32).toString('base64')}`,
  PORT: String(port),
  APP_ORIGIN: `http://localhost:${port}`,
  SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
  GATEHOUSE_FAST_HASH: '1',
  // The app's JSON logs would only clutter the test output; tests that read logs set their own level.
  LOG_LEVEL: 'silent',
  RATE_LIMIT_IP_PER_MINUTE: '100000',
  RATE_LIMIT_ACCOUNT_PER_MINUTE: '100000',
  API_RATE_LIMIT_IP_PER_MINUTE: '100000',
  API_RATE_LIMIT_TOKEN_PER_MINUTE: '100000',
  ...(globalThis as { __testEnv?: Record<string, string> }).__testEnv,
})
;(globalThis as { __testSmtp?: typeof smtp }).__testSmtp = smtp

// The regions table mirrors the configuration (which depends on this file's port).
{
  const { syncRegions } = await import('#db/migrate.ts')
  const { db } = await import('#db/client.ts')
  await syncRegions(db)
}

let errorSpy: { mock: { calls: unknown[][] }; mockRestore: () => void } | undefined
beforeEach(() => {
  errorSpy = vi.spyOn(console, 'error')
})
afterEach(() => {
  const calls = errorSpy?.mock.calls ?? []
  errorSpy?.mockRestore()
  expect(calls.map((c) => c.map(String).join(' ')), 'console.error was called').toEqual([])
})

afterAll(async () => {
  const { stopTestApp } = await import('./app.ts')
  await stopTestApp()
  const { closeQueues } = await import('#app/jobs/queues.server.ts')
  await closeQueues()
  const { closeRedisClients, workerConnection } = await import('#app/infra/redis.server.ts')
  const redis = workerConnection()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `ghtest:${name}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await redis.del(...keys)
  } while (cursor !== '0')
  redis.disconnect()
  await closeRedisClients()
  const { closeDb } = await import('#db/client.ts')
  await closeDb()
  await smtp.close()
  await admin.unsafe(`drop database if exists ${name} with (force)`)
  await admin.end()
})
