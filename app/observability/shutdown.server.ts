/**
 * Graceful shutdown for the web process and the workers (decision 067). The first SIGTERM or
 * SIGINT starts the process's own `stop` (stop taking work, finish what is in hand); if that has
 * not finished within the budget the process exits anyway, with status 1. A second signal exits
 * at once, also with status 1. A clean stop exits with 0.
 */
import { closeQueues } from '#app/jobs/queues.server.ts'
import { closeRedisClients } from '#app/infra/redis.server.ts'
import { closeDb } from '#db/client.ts'
import { logger } from './logger.server.ts'

/** The web process stops within 10 s (load balancers commonly wait that long), workers within 30 s. */
export const SHUTDOWN_BUDGET_MS = { web: 10_000, workers: 30_000 } as const

export function onShutdownSignals(role: keyof typeof SHUTDOWN_BUDGET_MS, stop: (deadline: number) => Promise<void>) {
  const log = logger.child({ component: role })
  const budgetMs = SHUTDOWN_BUDGET_MS[role]
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal, budgetSeconds: budgetMs / 1000 }, 'shutting down')
    const timer = setTimeout(() => {
      log.error({ budgetSeconds: budgetMs / 1000 }, 'shutdown took too long: exiting')
      process.exit(1)
    }, budgetMs)
    timer.unref()
    stop(Date.now() + budgetMs).then(
      () => {
        log.info('stopped')
        process.exit(0)
      },
      (e: unknown) => {
        log.error({ error: e instanceof Error ? e.message : String(e) }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}

/** Closes this process's connections to Redis and PostgreSQL (the last step of a stop). */
export async function closeConnections() {
  await closeQueues()
  await closeRedisClients()
  await closeDb()
}
