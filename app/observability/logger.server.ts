/**
 * The one logger (decision 067): pino, one JSON object per line on stdout, for the web process,
 * the workers and the CLI alike. Secrets never reach a line: pino's `redact` replaces the values
 * of the headers and fields below wherever they appear at the top level or one or two levels down,
 * and request URLs have their token segments and secret query values masked before they are
 * logged (redactUrl). `npm run demo` pipes the lines through pino-pretty for people to read.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import { config } from '#app/config/env.server.ts'

/** Field names whose values are secrets, wherever they appear in a log object. */
const SECRET_FIELDS = [
  'password', 'newPassword', 'currentPassword', 'passwordHash', 'token', 'accessToken', 'refreshToken',
  'apiKey', 'secret', 'otp', 'totp', 'code', 'recoveryCode', 'backupCode', 'challengeId', 'sessionToken',
]

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
]

/** Path segments that follow these prefixes are tokens (reset, invitation, sign-in link, freeze). */
const TOKEN_PATHS = /^(\/(?:reset-password|invite|login\/email|freeze)\/)[^/?#]+/
const SECRET_QUERY = new Set(['token', 'code', 'password', 'key', 'secret'])

/** The URL as it may be logged: token path segments and secret query values replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url
  const q = url.indexOf('?')
  const path = (q < 0 ? url : url.slice(0, q)).replace(TOKEN_PATHS, '$1[Redacted]')
  if (q < 0) return path
  const params = new URLSearchParams(url.slice(q + 1))
  for (const name of [...params.keys()]) if (SECRET_QUERY.has(name.toLowerCase())) params.set(name, '[Redacted]')
  return `${path}?${params.toString()}`
}

/** The logger with its redaction; `destination` (default stdout) is for tests. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  return destination ? pino(options, destination) : pino(options)
}

// One logger per process, shared by the server's modules and the Remix build's copy of this module.
const g = globalThis as unknown as { __gatehouseLogger?: Logger }
export const logger: Logger = (g.__gatehouseLogger ??= createLogger(config.logLevel))
