/**
 * Helpers of the API client verbs (login, 2fa ..., keys ..., org security ...): where the server
 * is, the saved token, prompts, and one HTTP call with the API's errors turned into exit codes.
 * These verbs never touch the database: they talk to a running server over HTTP, so they import
 * nothing from the app but their environment (app/config/tool-env.ts, which needs no server
 * configuration).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cliClientEnv } from '#app/config/tool-env.ts'
import { CommandError, EXIT, NotFoundError, UsageError, type OptionSpec, type Values } from '../registry.ts'

export const URL_OPTION: OptionSpec = { type: 'string', placeholder: 'url', description: 'the Gatehouse server (default: $GATEHOUSE_URL, then the server of the last login)' }

/** The server could not be reached at all: exit 4, like a database that cannot be reached. */
export class UnavailableError extends Error {
  readonly exitCode = EXIT.unavailable
}

// ---------------------------------------------------------------- configuration and credentials

/** $XDG_CONFIG_HOME/gatehouse, else ~/.config/gatehouse. */
export function configDir(): string {
  const base = cliClientEnv().configHome || join(homedir(), '.config')
  return join(base, 'gatehouse')
}
export const credentialsPath = () => join(configDir(), 'credentials.json')
const settingsPath = () => join(configDir(), 'config.json')

export type Credentials = { url: string; region: string; email: string; token: string; enrollmentOnly?: boolean; savedAt: string }

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

export const readCredentials = () => readJson<Credentials>(credentialsPath())
/** Optional defaults a user may write by hand: `{"url": "...", "region": "eu"}`. */
export const readSettings = () => readJson<{ url?: string; region?: string }>(settingsPath()) ?? {}

/** The token is a password-equivalent: the directory is 0700 and the file 0600, even if they existed. */
export function saveCredentials(c: Credentials) {
  const dir = configDir()
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const path = credentialsPath()
  // Written to a new 0600 file and renamed over the old one: the token is never in a file with wider rights.
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(c, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
  return path
}

export function forgetCredentials() {
  rmSync(credentialsPath(), { force: true })
}

export function serverUrl(values: Values): string {
  const raw = (typeof values.url === 'string' && values.url.trim()) || cliClientEnv().url || readCredentials()?.url || readSettings().url
  if (!raw) throw new UsageError('which server? Pass --url https://gatehouse.example.com or set GATEHOUSE_URL')
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error()
    return url.origin
  } catch {
    throw new UsageError(`--url must be an http(s) URL, not "${raw}"`)
  }
}

/** The bearer token: $GATEHOUSE_TOKEN (a session token or an organization API key for scripts), else the saved login. */
export function currentToken(): string {
  const token = cliClientEnv().token || readCredentials()?.token
  if (!token) throw new CommandError('you are not signed in: run "gatehouse login" first')
  return token
}

// ---------------------------------------------------------------- prompts

let lines: AsyncIterator<string> | undefined

/** The next line of standard input (answers piped by a script or a test). */
async function nextLine(question: string): Promise<string> {
  lines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]()
  const { value, done } = await lines.next()
  if (done) throw new UsageError(`no answer for "${question}" on standard input`)
  return String(value)
}

/** Reads one line on a terminal without echoing it (passwords, codes). Echo is off before the question shows. */
function readHidden(label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin
    let answer = ''
    stdin.setRawMode(true)
    process.stderr.write(label)
    stdin.resume()
    stdin.setEncoding('utf8')
    const done = (err?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(answer)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done()
        if (ch === '\u0003') return done(new CommandError('cancelled'))
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1)
        else if (ch >= ' ') answer += ch
      }
    }
    stdin.on('data', onData)
  })
}

/**
 * Asks on stderr (stdout stays clean for --json). Secrets are not echoed on a terminal; when
 * standard input is not a terminal, one line is read per question, so scripts can pipe answers.
 */
export async function prompt(question: string, options: { secret?: boolean; default?: string } = {}): Promise<string> {
  const label = `${question}${options.default ? ` [${options.default}]` : ''}: `
  let answer: string
  if (process.stdin.isTTY && options.secret) answer = await readHidden(label)
  else if (process.stdin.isTTY) {
    process.stderr.write(label)
    // A one-shot reader: a lasting one would also swallow the keys of a later hidden prompt.
    const rl = createInterface({ input: process.stdin, terminal: false })
    answer = await new Promise<string>((resolve) => rl.once('line', resolve))
    rl.close()
  } else {
    process.stderr.write(label)
    answer = await nextLine(question)
    process.stderr.write('\n')
  }
  answer = answer.trim()
  if (!answer && options.default) return options.default
  if (!answer) throw new UsageError(`${question}: an answer is needed`)
  return answer
}

// ---------------------------------------------------------------- HTTP

export type ApiFailure = { status: number; code: string; message: string; fields?: Record<string, string> }

export class ApiCallError extends Error {
  readonly exitCode: number
  constructor(readonly failure: ApiFailure) {
    super(failure.message)
    this.exitCode = failure.status === 404 ? EXIT.notFound : EXIT.failure
  }
}

/**
 * One API call. Answers `data`; an API error becomes ApiCallError (its message shown as is, a
 * 401 with the advice to sign in again), an unreachable server UnavailableError (exit 4).
 */
export async function api<T = any>(
  base: string,
  path: string,
  init: { method?: string; token?: string | null; body?: unknown; signedOutHint?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'gatehouse-cli' }
  if (init.token) headers.authorization = `Bearer ${init.token}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(new URL(path, base), {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    })
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    throw new UnavailableError(`cannot reach the Gatehouse server at ${base} (${cause?.code ?? cause?.message ?? (e as Error).message})`)
  }
  const text = await res.text()
  let body: any
  try {
    body = text ? JSON.parse(text) : {}
  } catch {
    throw new CommandError(`the server at ${base} answered ${res.status} with something that is not the Gatehouse API (is --url right?)`)
  }
  if (res.ok) return body.data as T
  const error = body?.error ?? {}
  const failure: ApiFailure = { status: res.status, code: String(error.code ?? 'error'), message: String(error.message ?? `HTTP ${res.status}`), fields: error.fields }
  if (res.status === 401 && init.signedOutHint !== false && failure.code === 'unauthorized') {
    failure.message = 'your session has expired or was ended: run "gatehouse login" again'
  }
  throw new ApiCallError(failure)
}

export function positionalOrOption(values: Values, positionals: string[], name: string): string {
  const v = (typeof values[name] === 'string' && (values[name] as string).trim()) || positionals[0]
  if (!v) throw new UsageError(`name the ${name}: gatehouse ... <${name}> (or --${name})`)
  return v
}

export { NotFoundError }
