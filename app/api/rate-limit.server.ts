/**
 * API rate limits, per client address (every request, before authentication, so token guessing
 * is limited too) and per token (a session or an API key). Same pattern as the sign-in throttles:
 * Redis shared by every server, with an in-memory insurance limiter while Redis is down.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { config } from '#app/config/env.server.ts'
import { redisClient } from '#app/infra/redis.server.ts'
import { rateLimited } from './errors.server.ts'

function limiter(name: string, points: number) {
  return new RateLimiterRedis({
    storeClient: redisClient('limiter'),
    keyPrefix: `${config.redisPrefix}:rl:api:${name}`,
    points,
    duration: 60,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: `mem:api:${name}`, points, duration: 60 }),
  })
}

const g = globalThis as unknown as { __gatehouseApiLimiters?: ReturnType<typeof makeLimiters> }
function makeLimiters() {
  return { ip: limiter('ip', config.api.ipPerMinute), token: limiter('token', config.api.tokenPerMinute) }
}
const limiters = () => (g.__gatehouseApiLimiters ??= makeLimiters())

async function take(which: 'ip' | 'token', key: string) {
  try {
    await limiters()[which].consume(key)
  } catch (e) {
    if (e instanceof RateLimiterRes) throw rateLimited(e.msBeforeNext / 1000)
    throw e
  }
}

/** Throws a 429 ApiError (with Retry-After) when the address has used its budget. */
export const limitAddress = (ip: string | null) => take('ip', ip ?? 'unknown')
/** Throws a 429 ApiError when the token (session or API key, by id) has used its budget. */
export const limitToken = (tokenId: string) => take('token', tokenId)
