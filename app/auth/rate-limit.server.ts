/**
 * Burst throttles on Redis, per client address and per account (normalised region + email, for
 * unknown emails too, so the answer never reveals whether an account exists). An in-memory
 * insurance limiter takes over while Redis is down, so an outage does not stop sign-in.
 * The long lockout (after many consecutive failures) is kept in the database: see lockout.server.ts.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { config } from '#app/config/env.server.ts'
import { redisClient } from '#app/infra/redis.server.ts'

function limiter(name: string, points: number) {
  return new RateLimiterRedis({
    storeClient: redisClient('limiter'),
    keyPrefix: `${config.redisPrefix}:rl:${name}`,
    points,
    duration: 60,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: `mem:${name}`, points, duration: 60 }),
  })
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

/** Takes one attempt from the address's and the account's budget. */
export async function throttleAttempt(ip: string | null, accountKey: string): Promise<Throttle> {
  try {
    await Promise.all([limiters.ip.consume(ip ?? 'unknown'), limiters.account.consume(accountKey)])
    return { allowed: true }
  } catch (e) {
    if (e instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) }
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
