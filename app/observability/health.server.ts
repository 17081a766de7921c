/**
 * Readiness (decision 067): whether PostgreSQL and Redis answer now, each within a second, so a
 * load balancer's probe never hangs on an outage. Liveness (/healthz) needs no check at all.
 */
import { once } from 'node:events'
import { redisClient } from '#app/infra/redis.server.ts'
import { sql } from '#db/client.ts'

const CHECK_TIMEOUT_MS = 1000

export type Readiness = { ready: boolean; postgres: 'ok' | 'down'; redis: 'ok' | 'down' }

export async function checkReadiness(): Promise<Readiness> {
  const [postgres, redis] = await Promise.all([
    answers(async () => {
      await sql`select 1`
    }),
    answers(async () => {
      // The fail-fast client queues nothing while it connects: the first probe waits for it.
      const redis = redisClient('health')
      if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
      await redis.ping()
    }),
  ])
  return { ready: postgres && redis, postgres: postgres ? 'ok' : 'down', redis: redis ? 'ok' : 'down' }
}

async function answers(check: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)
  })
  try {
    return await Promise.race([check().then(() => true, () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
