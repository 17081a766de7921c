/**
 * Starts every worker and scheduler; closes them on SIGTERM/SIGINT.
 * Run alone with `tsx workers/index.ts`; `npm run demo` starts it beside the web server.
 *
 * The workers themselves are in start.ts, loaded on first use: run as a program, this file loads
 * the configuration first, so a bad one ends with its list of problems instead of a stack trace.
 */
import { fileURLToPath } from 'node:url'
import { loadConfigOrExit } from '#app/config/config-error.ts'
import type { startWorkers as start } from './start.ts'

export type { WorkerHandle } from './start.ts'

export async function startWorkers(...args: Parameters<typeof start>): ReturnType<typeof start> {
  return (await import('./start.ts')).startWorkers(...args)
}

/** Installs the repeating sweeps (idempotent: upsertJobScheduler replaces a scheduler of the same id). */
export async function scheduleSweeps(): Promise<void> {
  return (await import('./start.ts')).scheduleSweeps()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { config } = await loadConfigOrExit()
  const { QUEUE } = await import('./queues.ts')
  const handle = await startWorkers()
  console.log(`Workers started (queues: ${Object.values(QUEUE).join(', ')}; mail to ${config.smtpUrl ? 'SMTP' : 'the development mailbox'})`)
  const stop = async () => {
    await handle.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
