/**
 * Burst throttles on Redis, per client address and per account (normalised region + email, for
 * unknown emails too, so the answer never reveals whether an account exists). An in-memory
 * insurance limiter takes over while Redis is down, so an outage does not stop sign-in.
 * The long lockout (after many consecutive failures) is kept in the database: see lockout.server.ts.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { config } from '#app/config/env.server.ts'
import type { Redis } from 'ioredis'
import { redisClient } from '#app/infra/redis.server.ts'

const WINDOW_SECONDS = 60

/** A burst limit: its Redis keys (`<prefix>:rl:<name>:<key>`, as rate-limiter-flexible names them) and its in-memory insurance. */
function limiter(name: string, points: number) {
  return {
    points,
    key: (key: string) => `${config.redisPrefix}:rl:${name}:${key}`,
    insurance: new RateLimiterMemory({ keyPrefix: `mem:${name}`, points, duration: WINDOW_SECONDS }),
  }
}

/**
 * The lockout's double for emails with no account: after as many failures as lock a real account,
 * the same "locked" answer for the first lock's hour, so the lockout does not reveal which emails
 * exist. Counted for 30 days (a real account counts until a success, which an unknown one never has).
 */
function unknownAccountLockout() {
  const points = Math.max(1, config.lockoutThreshold - 1)
  const options = { points, duration: 30 * 86_400, blockDuration: 3600 }
  return new RateLimiterRedis({
    storeClient: redisClient('limiter'),
    keyPrefix: `${config.redisPrefix}:rl:unknown-lock`,
    ...options,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: 'mem:unknown-lock', ...options }),
  })
}

const g = globalThis as unknown as { __gatehouseLimiters?: ReturnType<typeof makeLimiters> }
function makeLimiters() {
  return {
    ip: limiter('ip', config.rateLimit.ipPerMinute),
    account: limiter('account', config.rateLimit.accountPerMinute),
    unknownLock: unknownAccountLockout(),
  }
}
const limiters = (g.__gatehouseLimiters ??= makeLimiters())

export type Throttle = { allowed: true } | { allowed: false; retryAfterSeconds: number }

/**
 * rate-limiter-flexible's own counting script (create the key with its window if missing, add,
 * read the time left), run on both keys in one script: one Redis round trip per attempt
 * (decision 068). Returns [address count, its ms left, account count, its ms left].
 */
const CONSUME_BOTH = `
local out = {}
for i = 1, 2 do
  redis.call('set', KEYS[i], 0, 'EX', ARGV[2], 'NX')
  local consumed = redis.call('incrby', KEYS[i], ARGV[1])
  local ttl = redis.call('pttl', KEYS[i])
  if ttl == -1 then
    redis.call('expire', KEYS[i], ARGV[2])
    ttl = 1000 * ARGV[2]
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`

type ThrottleRedis = Redis & { gatehouseConsumeBoth(ipKey: string, accountKey: string, points: string, seconds: string): Promise<number[]> }

function throttleClient(): ThrottleRedis {
  const client = redisClient('limiter') as ThrottleRedis
  // ioredis sends EVALSHA, and EVAL once when Redis does not have the script cached yet.
  if (typeof client.gatehouseConsumeBoth !== 'function') client.defineCommand('gatehouseConsumeBoth', { numberOfKeys: 2, lua: CONSUME_BOTH })
  return client
}

const waitSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

/**
 * Takes one attempt from the address's and the account's budget, both in one round trip: the same
 * keys, windows and answers as the two limiters (the address's wait when both are spent). While
 * Redis is down or failing, the in-memory insurance limiters answer, as before.
 */
export async function throttleAttempt(ip: string | null, accountKey: string): Promise<Throttle> {
  const client = throttleClient()
  const counts =
    client.status === 'ready'
      ? await client.gatehouseConsumeBoth(limiters.ip.key(ip ?? 'unknown'), limiters.account.key(accountKey), '1', String(WINDOW_SECONDS)).catch(() => null)
      : null
  if (!counts) return insuredThrottle(ip, accountKey)
  const [ipUsed, ipMs, accountUsed, accountMs] = counts.map(Number)
  if (ipUsed > limiters.ip.points) return { allowed: false, retryAfterSeconds: waitSeconds(ipMs) }
  if (accountUsed > limiters.account.points) return { allowed: false, retryAfterSeconds: waitSeconds(accountMs) }
  return { allowed: true }
}

async function insuredThrottle(ip: string | null, accountKey: string): Promise<Throttle> {
  try {
    await Promise.all([limiters.ip.insurance.consume(ip ?? 'unknown'), limiters.account.insurance.consume(accountKey)])
    return { allowed: true }
  } catch (e) {
    if (e instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: waitSeconds(e.msBeforeNext) }
    throw e
  }
}

/** Counts a failure for an email with no account; the seconds its mirrored lock lasts, or 0. */
export async function recordUnknownAccountFailure(accountKey: string): Promise<number> {
  try {
    await limiters.unknownLock.consume(accountKey)
    return 0
  } catch (e) {
    if (e instanceof RateLimiterRes) return Math.max(1, Math.ceil(e.msBeforeNext / 1000))
    throw e
  }
}

export const accountKey = (region: string, email: string) => `${region}:${normaliseEmail(email)}`
export const normaliseEmail = (email: string) => email.trim().toLowerCase()

export function waitInWords(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  if (minutes < 90) return `${minutes} minutes`
  const hours = Math.ceil(minutes / 60)
  return `${hours} hour${hours === 1 ? '' : 's'}`
}
