/**
 * Gatehouse's programs as child processes, as an operator runs them (decision 067): the web
 * process (server.ts) and the workers (workers/index.ts), each started with `node --import tsx`
 * (no wrapper process, so a signal reaches the program itself) and this test file's environment
 * (tests/setup/per-file.ts), plus the overrides given. Their JSON log lines are kept for the test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { freePort } from './free-port.ts'


/** What per-file.ts sets for this test file, passed on; nothing else of the test runner's environment. */
const PASSED = [
  'NODE_ENV', 'DATABASE_URL', 'DATABASE_OWNER_URL', 'REDIS_URL', 'REDIS_PREFIX', 'SESSION_SECRET', 'GATEHOUSE_ENCRYPTION_KEYS',
  'GATEHOUSE_HASH_KEYS', 'PORT', 'APP_ORIGIN', 'SMTP_URL', 'GATEHOUSE_FAST_HASH', 'RATE_LIMIT_IP_PER_MINUTE',
  'RATE_LIMIT_ACCOUNT_PER_MINUTE', 'API_RATE_LIMIT_IP_PER_MINUTE', 'API_RATE_LIMIT_TOKEN_PER_MINUTE', 'PATH', 'HOME',
]

export type LogLine = Record<string, unknown> & { msg?: string; level?: string }

export type Program = {
  child: ChildProcess
  /** Every line it printed on stdout and stderr, as text. */
  output: string[]
  /** Its stdout lines that are JSON log lines. */
  logs: () => LogLine[]
  /** Resolves with the first log line that matches, within the timeout. */
  waitForLog: (match: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

const running = new Set<ChildProcess>()

export function startProgram(file: 'server.ts' | 'workers/index.ts', env: Record<string, string> = {}): Program {
  const base: Record<string, string> = { LOG_LEVEL: 'info' }
  for (const name of PASSED) if (process.env[name] !== undefined) base[name] = process.env[name]!
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: process.cwd(), env: { ...base, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const output: string[] = []
  const listeners = new Set<() => void>()
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = ''
    stream.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n')
      rest = parts.pop()!
      output.push(...parts)
      for (const l of listeners) l()
    })
  }
  const logs = () =>
    output.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown
        return parsed && typeof parsed === 'object' ? [parsed as LogLine] : []
      } catch {
        return []
      }
    })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal, at: Date.now() })
    })
  })
  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 60_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs().find(match)
        if (!found) return
        listeners.delete(check)
        clearTimeout(timer)
        resolve(found)
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`no such log line from ${file} within ${timeoutMs} ms; it printed:\n${output.join('\n')}`))
      }, timeoutMs)
      listeners.add(check)
      check()
    })
  return { child, output, logs, waitForLog, exited }
}

/** Waits until a web process answers /healthz. */
export async function waitUntilServing(url: string, program: Program, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (program.child.exitCode !== null) throw new Error(`the web process exited with ${program.child.exitCode}:\n${program.output.join('\n')}`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${program.output.join('\n')}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Ends whatever is still running (afterAll). */
export function killPrograms() {
  for (const child of running) child.kill('SIGKILL')
}

/**
 * A load balancer in front of the web processes: listens on `port` (the origin's), passes each
 * request on with its Host and an X-Forwarded-For, to the backend named in `x-backend` or else
 * to each in turn.
 */
export async function startBalancer(port: number, backends: Record<string, number>) {
  const names = Object.keys(backends)
  let next = 0
  const server = createHttpServer((req, res) => {
    const chosen = String(req.headers['x-backend'] ?? names[next++ % names.length])
    const upstream = httpRequest(
      { host: '127.0.0.1', port: backends[chosen], method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress } },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(port, 'localhost', resolve))
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
