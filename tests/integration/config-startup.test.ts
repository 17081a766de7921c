/**
 * Start-up with a bad configuration, as an operator meets it: each entry point (the web server,
 * the workers, the CLI) run as its own process with a missing and malformed environment stops with
 * exit code 1 and one message listing every problem and how to fix it, without a stack trace.
 * The processes run in an empty directory, so no .env file fills in what is missing.
 * Also here, since it needs processes with their own NODE_ENV: the development mailbox exists only
 * with NODE_ENV=development said explicitly (decision 062).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '#tests/setup/free-port.ts'

const ROOT = process.cwd()
const TSX = join(ROOT, 'node_modules/.bin/tsx')
const emptyDir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'))
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }))

type Run = { code: number | null; stdout: string; stderr: string }

/** Runs `tsx <file> ...args` with exactly `env` (plus PATH and HOME), in the empty directory. */
function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [join(ROOT, file), ...args], { cwd: emptyDir, env: { PATH: process.env.PATH!, HOME: emptyDir, ...env } as unknown as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Production, no SESSION_SECRET, no SMTP_URL, a malformed key ring and port: four problems. */
const BAD_ENV = { NODE_ENV: 'production', GATEHOUSE_ENCRYPTION_KEYS: 'garbage', PORT: 'eighty' }

function expectTheFourProblems(text: string) {
  expect(text).toContain('Gatehouse cannot start: the configuration has 4 problems:')
  const listed = text.split('\n').filter((l) => l.startsWith('  - '))
  expect(listed).toHaveLength(4)
  expect(listed.find((l) => l.startsWith('  - SESSION_SECRET:'))).toMatch(/is required.*openssl rand -base64 32/)
  expect(listed.find((l) => l.startsWith('  - GATEHOUSE_ENCRYPTION_KEYS:'))).toMatch(/"garbage…" needs the form id:base64/)
  expect(listed.find((l) => l.startsWith('  - PORT:'))).toMatch(/must be a port number from 1 to 65535/)
  expect(listed.find((l) => l.startsWith('  - SMTP_URL:'))).toMatch(/is required in production/)
  expect(text).toContain('Set these in the environment or in a .env file')
  // No stack trace, no source excerpt, no error object dump.
  expect(text).not.toMatch(/^\s+at /m)
  expect(text).not.toMatch(/\^\n|ConfigError|problems: \[|Node\.js v/)
}

describe('a bad configuration stops start-up with one message', () => {
  it('the web server (server.ts): exit 1, every problem listed, no stack trace', async () => {
    const r = await run('server.ts', [], BAD_ENV)
    expect(r.code).toBe(1)
    expectTheFourProblems(r.stderr)
    expect(r.stdout).toBe('')
  })

  it('the workers (workers/index.ts): the same', async () => {
    const r = await run('workers/index.ts', [], BAD_ENV)
    expect(r.code).toBe(1)
    expectTheFourProblems(r.stderr)
    expect(r.stdout).toBe('')
  })

  it('an operator CLI command: the same, as text and as --json', async () => {
    const text = await run('cli/main.ts', ['unlock', '--email', 'someone@example.test', '--region', 'us', '--reason', 'ticket 1'], BAD_ENV)
    expect(text.code).toBe(1)
    expectTheFourProblems(text.stderr)
    const json = await run('cli/main.ts', ['unlock', '--email', 'someone@example.test', '--region', 'us', '--reason', 'ticket 1', '--json'], BAD_ENV)
    expect(json.code).toBe(1)
    const answer = JSON.parse(json.stderr)
    expect(answer).toMatchObject({ ok: false, exitCode: 1 })
    expectTheFourProblems(answer.error)
  })

  it('a single problem is named alone (SESSION_SECRET too short), in the singular', async () => {
    const r = await run('server.ts', [], { NODE_ENV: 'test', SESSION_SECRET: 'short', GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the configuration has 1 problem:\n  - SESSION_SECRET: must be at least 32 characters (openssl rand -base64 32)\n')
    expect(r.stderr).not.toMatch(/^\s+at /m)
  })
})


/** Starts server.ts with the test file's database and Redis, plus `env`; returns its port and a stop function. */
async function startServer(env: Record<string, string | undefined>) {
  const port = await freePort()
  const child = spawn(TSX, [join(ROOT, 'server.ts')], {
    cwd: emptyDir,
    env: Object.fromEntries(
      Object.entries({
        PATH: process.env.PATH!,
        HOME: emptyDir,
        PORT: String(port),
        APP_ORIGIN: `http://localhost:${port}`,
        DATABASE_URL: process.env.DATABASE_URL!,
        REDIS_URL: process.env.REDIS_URL!,
        REDIS_PREFIX: `${process.env.REDIS_PREFIX}:prod`,
        SESSION_SECRET: process.env.SESSION_SECRET!,
        GATEHOUSE_ENCRYPTION_KEYS: process.env.GATEHOUSE_ENCRYPTION_KEYS!,
        ...env,
      }).filter(([, v]) => v !== undefined),
    ) as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const stop = async () => {
    const closed = new Promise((resolve) => child.on('close', resolve))
    child.kill('SIGTERM')
    await closed
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('Gatehouse is listening on')) resolve()
      })
      child.on('close', (code) => reject(new Error(`the server ended (${code}): ${stderr}`)))
    })
  } catch (e) {
    await stop()
    throw e
  }
  return { port, stop }
}

// The development mailbox opens only with NODE_ENV=development said explicitly (decision 062).
describe('the development mailbox', () => {
  it('NODE_ENV unset means production: without SMTP_URL the server does not start, and says why', async () => {
    const r = await run('server.ts', [], { SESSION_SECRET: 'x'.repeat(40), GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the configuration has 1 problem:\n  - SMTP_URL: is required in production (NODE_ENV is unset, which means production; the development mailbox opens only with NODE_ENV=development)\n')
  })

  for (const [label, env] of [
    ['in production (with SMTP)', { NODE_ENV: 'production', SMTP_URL: process.env.SMTP_URL }],
    ['with NODE_ENV=test and no SMTP_URL', { NODE_ENV: 'test' }],
  ] as const) {
    it(`${label}: /dev/mailbox answers 404`, async () => {
      const server = await startServer(env)
      try {
        const res = await fetch(`http://localhost:${server.port}/dev/mailbox`, { redirect: 'manual' })
        expect(res.status).toBe(404)
        expect(await res.text()).not.toContain('Development mailbox')
        // The server itself is up and serving pages.
        expect((await fetch(`http://localhost:${server.port}/login`, { redirect: 'manual' })).status).toBe(200)
      } finally {
        await server.stop()
      }
    })
  }

  it('with NODE_ENV=development and no SMTP_URL: /dev/mailbox opens', async () => {
    const server = await startServer({ NODE_ENV: 'development' })
    try {
      const res = await fetch(`http://localhost:${server.port}/dev/mailbox`, { redirect: 'manual' })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('Development mailbox')
    } finally {
      await server.stop()
    }
  })
})
