/**
 * The workers' program (`npm run workers`; `npm run demo` starts it beside the web server). It
 * loads the configuration first, so a bad one ends with its list of problems instead of a stack
 * trace, then the workers themselves (workers/start.ts, which tests import directly). Any number
 * of these may run against one Redis and one PostgreSQL (decision 067).
 *
 * With WORKER_METRICS_PORT set it also answers /healthz, /readyz and /metrics there. On SIGTERM
 * or SIGINT it stops taking jobs and lets the running ones finish, within 30 seconds; a job still
 * running then goes back to the queue when its lock lapses, for another worker to run.
 */
import { createServer, type Server } from 'node:http'
import { loadConfigOrExit } from '#app/config/config-error.ts'

const { config } = await loadConfigOrExit()
const { QUEUE } = await import('#app/jobs/queues.server.ts')
const { logger } = await import('#app/observability/logger.server.ts')
const { installQueueDepths } = await import('#app/observability/jobs.server.ts')
const { opsEndpoints } = await import('#app/observability/endpoints.server.ts')
const { closeConnections, onShutdownSignals } = await import('#app/observability/shutdown.server.ts')
const { startWorkers } = await import('./start.ts')

const log = logger.child({ component: 'workers' })
let draining = false
const handle = await startWorkers()
log.info({ queues: Object.values(QUEUE), mail: config.smtpUrl ? 'smtp' : 'development mailbox' }, 'workers started')

let server: Server | undefined
if (config.workerMetricsPort) {
  installQueueDepths()
  const ops = opsEndpoints({ draining: () => draining })
  server = createServer((req, res) => {
    if (!ops(req, res)) {
      res.statusCode = 404
      res.end('Not found')
    }
  })
  server.listen(config.workerMetricsPort, () => log.info({ port: config.workerMetricsPort }, 'serving /healthz, /readyz and /metrics'))
}

onShutdownSignals('workers', async () => {
  draining = true
  await handle.close()
  server?.close()
  server?.closeAllConnections()
  await closeConnections()
})
