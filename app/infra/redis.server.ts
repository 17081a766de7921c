/**
 * Redis clients, one module. The web app's clients (rate limiter, queue producer) fail fast:
 * no offline queue and short timeouts, so a Redis outage answers at once instead of hanging a
 * request. Workers make their own blocking connection (maxRetriesPerRequest: null).
 */
import { Redis, type RedisOptions } from 'ioredis'
import { config } from '#app/config/env.server.ts'
import { logger } from '#app/observability/logger.server.ts'

const failFast: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 1000,
  commandTimeout: 1000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
}

const g = globalThis as unknown as { __gatehouseRedis?: Map<string, Redis> }
const clients = (g.__gatehouseRedis ??= new Map())

/** A shared fail-fast client for the given use ("limiter", "queue"). */
export function redisClient(use: string): Redis {
  let client = clients.get(use)
  if (!client) {
    client = new Redis(config.redisUrl, { ...failFast, lazyConnect: false, connectionName: `gatehouse:${use}` })
    // Errors surface on the commands that fail; the connection event alone is not worth a log line each retry.
    client.on('error', () => {})
    clients.set(use, client)
  }
  return client
}

/** A connection for a BullMQ worker (blocking commands, retries forever). */
export function workerConnection(): Redis {
  const client = new Redis(config.redisUrl, { maxRetriesPerRequest: null, connectionName: 'gatehouse:worker' })
  client.on('error', (e) => logger.warn({ component: 'redis', error: e.message }, 'worker connection error'))
  return client
}

export async function closeRedisClients() {
  await Promise.all([...clients.values()].map((c) => c.quit().catch(() => c.disconnect())))
  clients.clear()
}
