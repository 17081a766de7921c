/**
 * Configuration: with its sibling tool-env.ts (for the preflight check and the CLI's API client,
 * which run without a full configuration), the one place that reads process.env.
 *
 * Everything is parsed at start-up; a missing or malformed value stops the process with
 * one message that lists every problem and how to fix it (see ConfigError).
 */
import { hkdfSync } from 'node:crypto'
import { isIP } from 'node:net'
import { existsSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './config-error.ts'
import { parseTrustProxy } from './trust-proxy.ts'
import { parseAddressRanges } from '#app/observability/address-ranges.ts'
import { DEFAULT_DATABASE_OWNER_URL, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from './tool-env.ts'

export { ConfigError }

export type Region = {
  code: string
  name: string
  origin: string
  rpId: string
  /** Issuer shown in authenticator apps, e.g. "Gatehouse (EU)". */
  issuer: string
}

const REGION_NAMES: Record<string, string> = {
  us: 'United States',
  eu: 'European Union',
  jp: 'Japan',
  kr: 'Korea',
}

const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: `must be a whole number above 0 (default ${fallback})` })
    .int(`must be a whole number above 0 (default ${fallback})`)
    .positive(`must be a whole number above 0 (default ${fallback})`)
    .default(fallback)

const schema = z.object({
  /** Unset means production: the development mailbox needs NODE_ENV=development said explicitly (decision 062). */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce
    .number({ error: 'must be a port number from 1 to 65535 (default 3000)' })
    .int('must be a port number from 1 to 65535 (default 3000)')
    .min(1, 'must be a port number from 1 to 65535 (default 3000)')
    .max(65535, 'must be a port number from 1 to 65535 (default 3000)')
    .default(3000),
  APP_ORIGIN: z.string().optional(),
  DATABASE_URL: z
    .string()
    .default(DEFAULT_DATABASE_URL)
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must start with postgres:// (e.g. postgres://gatehouse_app@127.0.0.1:5432/gatehouse)'),
  /** The role that owns the tables: used only by migrations (npm run db:migrate), never by the app (decision 058). */
  DATABASE_OWNER_URL: z
    .string()
    .default(DEFAULT_DATABASE_OWNER_URL)
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must start with postgres:// (e.g. postgres://postgres@127.0.0.1:5432/gatehouse)'),
  REDIS_URL: z
    .string()
    .default(DEFAULT_REDIS_URL)
    .refine((v) => /^rediss?:\/\//.test(v), 'must start with redis:// (e.g. redis://127.0.0.1:6379)'),
  REDIS_PREFIX: z.string().regex(/^[\w:.-]+$/, 'letters, digits, ":", "." and "-" only').default('gatehouse'),
  SESSION_SECRET: z
    .string({ error: 'is required: a random string of at least 32 characters (openssl rand -base64 32)' })
    .min(32, 'must be at least 32 characters (openssl rand -base64 32)'),
  GATEHOUSE_ENCRYPTION_KEYS: z.string({
    error: 'is required: a key ring "id:base64-32-bytes,..." (e.g. k1:$(openssl rand -base64 32)); the first key encrypts',
  }),
  /**
   * Key ring for the keyed hashes of tokens and codes, "id:base64-32-bytes,..."; the first key hashes,
   * every key is tried on lookup. Unset: one key derived from SESSION_SECRET, as before (decision 062).
   */
  GATEHOUSE_HASH_KEYS: z.string().optional(),
  SMTP_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^smtps?:\/\//.test(v), 'must start with smtp:// or smtps://'),
  MAIL_FROM: z.string().default('Gatehouse <no-reply@gatehouse.localhost>'),
  GATEHOUSE_REGIONS: z.string().default('us,eu,jp,kr'),
  SESSION_IDLE_MINUTES: positiveInt(30),
  SESSION_ABSOLUTE_HOURS: positiveInt(12),
  LOCKOUT_THRESHOLD: positiveInt(100),
  RATE_LIMIT_IP_PER_MINUTE: positiveInt(60),
  RATE_LIMIT_ACCOUNT_PER_MINUTE: positiveInt(20),
  /** JSON API: requests per minute per client address (before authentication) and per token. */
  API_RATE_LIMIT_IP_PER_MINUTE: positiveInt(300),
  API_RATE_LIMIT_TOKEN_PER_MINUTE: positiveInt(120),
  /** JSON API: largest request body accepted, in bytes (64 KB). */
  API_MAX_BODY_BYTES: positiveInt(65_536),
  /** Parsed by parseTrustProxy (decision 060). */
  TRUST_PROXY: z.string().optional(),
  /** Log level of the JSON logs (decision 067); the test harness sets silent for the test processes. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** Addresses and ranges (TCP peer) that may read /metrics; everyone else gets 404 (decision 067). */
  METRICS_ALLOW: z.string().optional(),
  /** Workers serve /healthz, /readyz and /metrics on this port when it is set (decision 067). */
  WORKER_METRICS_PORT: z.coerce.number().int('must be a port number from 1 to 65535').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535').optional(),
  /** How long a worker's claim on a job lasts unrenewed: a crashed worker's jobs go back to the queue after this, at most twice it. */
  JOB_LOCK_SECONDS: positiveInt(30),
  /**
   * DNS servers for checking SSO domains' TXT records (decision 080), "ip[:port],..." (IPv6 as
   * [addr]:port). Unset: the system's resolvers.
   */
  DNS_SERVERS: z.string().optional(),
  /** Test runs only: argon2 parameters cheap enough for hundreds of hashes. Refused in production. */
  GATEHOUSE_FAST_HASH: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
})

export type Config = ReturnType<typeof parseConfig>

function parseKeyRing(raw: string, problems: string[], name = 'GATEHOUSE_ENCRYPTION_KEYS') {
  const keys: { id: string; key: Buffer }[] = []
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(':')
    const id = i > 0 ? part.slice(0, i) : ''
    const key = i > 0 ? Buffer.from(part.slice(i + 1), 'base64') : Buffer.alloc(0)
    if (!/^[\w-]{1,32}$/.test(id)) problems.push(`${name}: "${part.slice(0, 8)}…" needs the form id:base64 (id of letters, digits, "-" or "_")`)
    else if (key.length !== 32) problems.push(`${name}: key "${id}" must be 32 bytes in base64 (openssl rand -base64 32), got ${key.length}`)
    else if (keys.some((k) => k.id === id)) problems.push(`${name}: key id "${id}" appears twice`)
    else keys.push({ id, key })
  }
  if (keys.length === 0 && !problems.some((p) => p.startsWith(name))) {
    problems.push(`${name}: needs at least one key "id:base64-32-bytes"`)
  }
  return keys
}

function parseRegions(raw: string, appOrigin: string, problems: string[]): Region[] {
  const regions: Region[] = []
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [code, origin = appOrigin] = part.split('=')
    if (!/^[a-z]{2,8}$/.test(code)) {
      problems.push(`GATEHOUSE_REGIONS: "${code}" is not a region code (2 to 8 lower-case letters)`)
      continue
    }
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      problems.push(`GATEHOUSE_REGIONS: region ${code} has origin "${origin}", which is not a URL (e.g. eu=https://eu.gatehouse.example)`)
      continue
    }
    if (/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname)) {
      problems.push(`GATEHOUSE_REGIONS: region ${code} is served on an IP address (${url.hostname}); WebAuthn needs a host name such as localhost`)
      continue
    }
    regions.push({
      code,
      name: REGION_NAMES[code] ?? code.toUpperCase(),
      origin: url.origin,
      rpId: url.hostname,
      issuer: `Gatehouse (${code.toUpperCase()})`,
    })
  }
  if (regions.length === 0 && !problems.some((p) => p.startsWith('GATEHOUSE_REGIONS'))) problems.push('GATEHOUSE_REGIONS: needs at least one region')
  return regions
}

/** Pure: parses an environment object. Exported for tests; the app uses `config` below. */
export function parseConfig(env: Record<string, string | undefined>) {
  const problems: string[] = []
  const parsed = schema.safeParse(env)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`)
  }
  const raw = parsed.success ? parsed.data : undefined
  // The checks below read the environment itself when another value failed the schema (raw is
  // undefined then): the one message must list every problem, not only the first batch.
  const port = raw?.PORT ?? 3000
  let appOrigin = raw?.APP_ORIGIN ?? env.APP_ORIGIN ?? `http://localhost:${port}`
  try {
    appOrigin = new URL(appOrigin).origin
    if (/^https?:\/\/\d+\.\d+\.\d+\.\d+/.test(appOrigin)) problems.push(`APP_ORIGIN: ${appOrigin} is an IP address; use a host name (http://localhost:${port}) so that WebAuthn works`)
  } catch {
    problems.push(`APP_ORIGIN: "${appOrigin}" is not a URL (e.g. http://localhost:3000)`)
  }
  const encryptionKeys = env.GATEHOUSE_ENCRYPTION_KEYS ? parseKeyRing(env.GATEHOUSE_ENCRYPTION_KEYS, problems) : []
  // Without a ring of its own, the one key keyed hashes always had (derived from SESSION_SECRET), so
  // an existing installation's sessions and API keys still match; its id names where it comes from.
  const hashKeys = env.GATEHOUSE_HASH_KEYS
    ? parseKeyRing(env.GATEHOUSE_HASH_KEYS, problems, 'GATEHOUSE_HASH_KEYS')
    : raw
      ? [{ id: 'session-secret', key: Buffer.from(hkdfSync('sha256', raw.SESSION_SECRET, 'gatehouse', 'keyed-hash v1', 32)) }]
      : []
  const regions = parseRegions(raw?.GATEHOUSE_REGIONS ?? env.GATEHOUSE_REGIONS ?? 'us,eu,jp,kr', appOrigin, problems)
  const production = (raw?.NODE_ENV ?? env.NODE_ENV ?? 'production') === 'production'
  const fastHash = raw?.GATEHOUSE_FAST_HASH ?? (env.GATEHOUSE_FAST_HASH === 'true' || env.GATEHOUSE_FAST_HASH === '1')
  if (production && !(raw?.SMTP_URL ?? env.SMTP_URL)) problems.push(`SMTP_URL: is required in production (${env.NODE_ENV ? 'NODE_ENV=production' : 'NODE_ENV is unset, which means production'}; the development mailbox opens only with NODE_ENV=development)`)
  if (production && fastHash) problems.push('GATEHOUSE_FAST_HASH: is for test runs only and refused in production')
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems)
  const metricsAllow = parseAddressRanges(env.METRICS_ALLOW ?? 'loopback', problems, 'METRICS_ALLOW')
  const dnsServers = parseDnsServers(env.DNS_SERVERS, problems)
  if (problems.length > 0 || !raw) throw new ConfigError(problems)

  return {
    env: raw.NODE_ENV,
    isProduction: raw.NODE_ENV === 'production',
    port,
    appOrigin,
    secureCookies: appOrigin.startsWith('https://'),
    databaseUrl: raw.DATABASE_URL,
    databaseOwnerUrl: raw.DATABASE_OWNER_URL,
    redisUrl: raw.REDIS_URL,
    redisPrefix: raw.REDIS_PREFIX,
    sessionSecret: raw.SESSION_SECRET,
    encryptionKeys,
    hashKeys,
    smtpUrl: raw.SMTP_URL || undefined,
    mailFrom: raw.MAIL_FROM,
    /** The development mailbox stands in for SMTP only when NODE_ENV=development is set and no SMTP_URL (decision 062). */
    devMailbox: !raw.SMTP_URL && raw.NODE_ENV === 'development',
    regions,
    session: { idleMinutes: raw.SESSION_IDLE_MINUTES, absoluteHours: raw.SESSION_ABSOLUTE_HOURS },
    lockoutThreshold: raw.LOCKOUT_THRESHOLD,
    rateLimit: { ipPerMinute: raw.RATE_LIMIT_IP_PER_MINUTE, accountPerMinute: raw.RATE_LIMIT_ACCOUNT_PER_MINUTE },
    api: { ipPerMinute: raw.API_RATE_LIMIT_IP_PER_MINUTE, tokenPerMinute: raw.API_RATE_LIMIT_TOKEN_PER_MINUTE, maxBodyBytes: raw.API_MAX_BODY_BYTES },
    trustProxy,
    fastHash: raw.GATEHOUSE_FAST_HASH,
    logLevel: raw.LOG_LEVEL ?? 'info',
    metricsAllow,
    workerMetricsPort: raw.WORKER_METRICS_PORT,
    jobLockMs: raw.JOB_LOCK_SECONDS * 1000,
    /** Empty: the system's resolvers. */
    dnsServers,
  }
}

/** "ip[:port],..." as node's Resolver#setServers takes them; each checked here so a typo is a start-up message. */
function parseDnsServers(raw: string | undefined, problems: string[]): string[] {
  const servers: string[] = []
  for (const part of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(part) ?? /^([0-9.]+)(?::(\d{1,5}))?$/.exec(part) ?? /^([0-9a-fA-F:]+)()$/.exec(part)
    const port = m?.[2] ? Number(m[2]) : 53
    if (!m || !isIP(m[1]) || port < 1 || port > 65535) problems.push(`DNS_SERVERS: "${part}" is not an address like 127.0.0.1, 127.0.0.1:5353 or [::1]:53`)
    else servers.push(part)
  }
  return servers
}

function loadConfig() {
  // A .env file at the project root fills in what the environment does not set.
  if (process.env.NODE_ENV !== 'test' && existsSync('.env')) process.loadEnvFile('.env')
  return parseConfig(process.env)
}

export const config = loadConfig()

export function findRegion(code: string): Region | undefined {
  return config.regions.find((r) => r.code === code)
}
