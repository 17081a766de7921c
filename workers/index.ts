/**
 * The workers' program: `tsx workers/index.ts` (`npm run demo` starts it beside the web server).
 * It loads the configuration first, so a bad one ends with its list of problems instead of a stack
 * trace, then the workers themselves (workers/start.ts, which tests import directly).
 */
import { loadConfigOrExit } from '#app/config/config-error.ts'

const { config } = await loadConfigOrExit()
const { QUEUE } = await import('#app/jobs/queues.server.ts')
const { startWorkers } = await import('./start.ts')
const handle = await startWorkers()
console.log(`Workers started (queues: ${Object.values(QUEUE).join(', ')}; mail to ${config.smtpUrl ? 'SMTP' : 'the development mailbox'})`)
const stop = async () => {
  await handle.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
