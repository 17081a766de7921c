/**
 * `npm run bench`: throughput through the real HTTP server, as ratios against a baseline
 * measured in the same run (argon2id verify is the floor of a sign-in). Not a test: it prints.
 *
 * Bench settings: its own database (gatehouse_bench, recreated), production argon2 parameters,
 * rate limits raised out of the way (stated in the output), server and load in one process.
 * It prints one table: measure | now | goal | met?, goals being those the performance work aims at.
 *
 * Knobs (env): BENCH_SECONDS per rate (5), BENCH_CONCURRENCY (8), BENCH_PORT (a free one),
 * BENCH_ONLY=<name> for one *.bench.ts, BENCH_MEMBERS per organization (100,000; 10 organizations),
 * BENCH_POLICY_CHANGES (10), BENCH_MFA_ACCOUNTS (4000), BENCH_FORGOT_EACH (200), BENCH_PROFILE_DIR (a CPU
 * profile of one more slice of each sign-in measure), BENCH_KEEP_DB=1 (keep the bench database, to
 * study its queries afterwards; its name is printed). The full run takes
 * about a minute on 2 quiet cores (half of it seeding 1,000,000 memberships), up to five when shared.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import { atLeast, cpuRow, type Bench, type BenchRow, type VersusArgon2 } from './bench-types.ts'
import { CpuMeter } from './cpu.ts'
import { postForm } from './http-client.ts'
import { createServer } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import postgres from 'postgres'

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const DB = `gatehouse_bench_${process.pid}`
const started = performance.now()
// A free port unless one is given: another bench may be running on this machine.
const PORT = Number(process.env.BENCH_PORT ?? 0) || (await new Promise<number>((resolve) => {
  const probe = createTcpServer().listen(0, 'localhost', () => {
    const { port } = probe.address() as AddressInfo
    probe.close(() => resolve(port))
  })
}))

// The owner creates and migrates the bench database; the server connects as the application role.
const { connectionUrls } = await import('#app/config/tool-env.ts')
const urls = connectionUrls()
const adminUrl = new URL(urls.databaseOwnerUrl)
adminUrl.pathname = '/postgres'
const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} })
await admin.unsafe(`drop database if exists ${DB} with (force)`)
await admin.end()
const ownerUrl = new URL(urls.databaseOwnerUrl)
ownerUrl.pathname = `/${DB}`
const dbUrl = new URL(urls.databaseUrl)
dbUrl.pathname = `/${DB}`

Object.assign(process.env, {
  NODE_ENV: 'production',
  DATABASE_URL: dbUrl.toString(),
  DATABASE_OWNER_URL: ownerUrl.toString(),
  REDIS_PREFIX: `ghbench:${randomBytes(3).toString('hex')}`,
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  GATEHOUSE_ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
  SMTP_URL: 'smtp://127.0.0.1:9', // never used: the bench sends no mail
  PORT: String(PORT),
  APP_ORIGIN: `http://localhost:${PORT}`,
  RATE_LIMIT_IP_PER_MINUTE: '100000000',
  RATE_LIMIT_ACCOUNT_PER_MINUTE: '100000000',
  // One log line per request would bury the table (and cost the server time it would not spend otherwise).
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
})

const { runMigrations } = await import('#db/migrate.ts')
await runMigrations()
const { db, schema, closeDb } = await import('#db/client.ts')
const { hashPassword, verifyPassword } = await import('#app/auth/password.server.ts')
const { createApp } = await import('#server/create-app.ts')
const { closeRedisClients } = await import('#app/infra/redis.server.ts')

const PASSWORD = 'correct horse battery staple'
const passwordHash = await hashPassword(PASSWORD)

let operations = 0 // every task run so far, for CPU per operation

/** Runs `task` from `CONCURRENCY` loops for `seconds`; returns operations per second. */
async function rate(task: (i: number) => Promise<void>, seconds = SECONDS): Promise<number> {
  const until = Date.now() + seconds * 1000
  let done = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (Date.now() < until) {
        await task(lane * 1_000_000 + done)
        done++
        operations++
      }
    }),
  )
  return done / ((performance.now() - start) / 1000)
}

const verifyOnce = async () => {
  if (!(await verifyPassword(passwordHash, PASSWORD))) throw new Error('argon2 verify failed')
}

/**
 * `task`'s rate and the argon2id verify rate, in alternating slices (SECONDS each in all): on a
 * shared machine the load drifts, and a baseline taken minutes earlier would skew the ratio. Also
 * where each one's CPU went (Linux only), summed over its slices.
 */
async function versusArgon2(task: (i: number) => Promise<void>): Promise<VersusArgon2> {
  const rounds = 4
  let taskSum = 0
  let argonSum = 0
  const cpu = { task: new CpuMeter(DB), argon2: new CpuMeter(DB) }
  const done = () => operations
  for (let r = 0; r < rounds; r++) {
    argonSum += await cpu.argon2.measure(done, () => rate(verifyOnce, SECONDS / rounds))
    taskSum += await cpu.task.measure(done, () => rate(task, SECONDS / rounds))
  }
  if (process.env.BENCH_PROFILE_DIR) await profileSlice(task)
  return { rate: taskSum / rounds, argon2Rate: argonSum / rounds, cpu: { task: cpu.task.perOperation(), argon2: cpu.argon2.perOperation() } }
}

/**
 * BENCH_PROFILE_DIR=<dir>: one more slice of `task`, outside the measures, under V8's CPU profiler,
 * written as <dir>/task-<n>.cpuprofile (open it in Chrome's DevTools, Performance panel). Only the
 * task's own slice is profiled, not the bench's setup.
 */
let profiled = 0
async function profileSlice(task: (i: number) => Promise<void>) {
  const { Session } = await import('node:inspector/promises')
  const { mkdirSync, writeFileSync } = await import('node:fs')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  await rate(task, SECONDS / 2)
  const { profile } = await session.post('Profiler.stop')
  session.disconnect()
  mkdirSync(process.env.BENCH_PROFILE_DIR!, { recursive: true })
  const file = `${process.env.BENCH_PROFILE_DIR}/task-${++profiled}.cpuprofile`
  writeFileSync(file, JSON.stringify(profile))
  console.log(`CPU profile of one more slice: ${file}`)
}

const accounts = Array.from({ length: 200 }, (_, i) => `bench-${i}@bench.test`)
await db.insert(schema.users).values(accounts.map((email) => ({ email, name: email, region: 'us', passwordHash })))

const build = await import(pathToFileURL(`${process.cwd()}/build/index.js`).href)
const server = createServer(createApp(build))
await new Promise<void>((resolve) => server.listen(PORT, 'localhost', resolve))
const base = `http://localhost:${PORT}`

async function signIn(i: number) {
  const res = await postForm(`${base}/login`, { region: 'us', email: accounts[i % accounts.length], password: PASSWORD }, { origin: base })
  if (res.status !== 302) throw new Error(`sign-in answered ${res.status}`)
}

await signIn(0) // warm up
const signInVs = await versusArgon2(signIn)
const argon2Rate = signInVs.argon2Rate

const rows: BenchRow[] = [
  { measure: 'argon2id verify (baseline, alongside sign-in)', now: `${argon2Rate.toFixed(1)} /s` },
  { measure: 'password sign-in over HTTP', now: `${signInVs.rate.toFixed(1)} /s` },
  { measure: 'password sign-in / argon2id verify rate', now: (signInVs.rate / argon2Rate).toFixed(3), ...atLeast(signInVs.rate / argon2Rate, 0.85) },
  ...cpuRow('password sign-in', signInVs),
]
// More measures: every tests/bench/*.bench.ts exports `bench: Bench` (see bench-types.ts).
// BENCH_ONLY=forgot-password runs that measure alone (after the baseline), e.g. on a busy machine.
const only = process.env.BENCH_ONLY
for (const file of readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.bench.ts') && (!only || f === `${only}.bench.ts`)).sort()) {
  const { bench } = (await import(new URL(file, import.meta.url).href)) as { bench: Bench }
  rows.push(...(await bench.run({ base, rate, versusArgon2, argon2Rate, passwordHash, password: PASSWORD })))
}

const head: BenchRow = { measure: 'measure', now: 'now', goal: 'goal', met: 'met?' }
const cols = (['measure', 'now', 'goal', 'met'] as const).map((k) => ({ k, w: Math.max(...[head, ...rows].map((r) => (r[k] ?? '').length)) }))
const line = (r: BenchRow) => `| ${cols.map(({ k, w }) => (r[k] ?? '').padEnd(w)).join(' | ')} |`
console.log(`
Gatehouse benchmark (${SECONDS}s per rate, ratios from alternating slices, ${CONCURRENCY} concurrent, server and load (a keep-alive node:http client) in one process;
argon2id m=19456 t=2 p=1; rate limits raised to 1e8/min for the bench; ${os.availableParallelism()} cores)

${line(head)}
| ${cols.map(({ w }) => '-'.repeat(w)).join(' | ')} |
${rows.map(line).join('\n')}

Wall time ${((performance.now() - started) / 1000).toFixed(0)} s. "met?" compares this run with the goal; ratios use baselines measured in this run.${
  process.env.BENCH_MEMBERS || process.env.BENCH_POLICY_PER_ORG ? '\nBENCH_MEMBERS set: the goals are for 100,000 members per organization (1,000,000 in all), so "met?" at another size is only indicative.' : ''
}`)

server.closeAllConnections()
server.close()
await closeRedisClients()
await closeDb()
if (process.env.BENCH_KEEP_DB) {
  console.log(`Kept the bench database: ${ownerUrl} (drop it with: psql ${adminUrl} -c 'drop database ${DB}')`)
} else {
  const cleanup = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} })
  await cleanup.unsafe(`drop database if exists ${DB} with (force)`)
  await cleanup.end()
}
process.exit(0)
