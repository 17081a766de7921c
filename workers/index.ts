/**
 * Starts every worker and scheduler; closes them on SIGTERM/SIGINT.
 * Run alone with `tsx workers/index.ts`; `npm run demo` starts it beside the web server.
 */
import { fileURLToPath } from 'node:url'
import { UnrecoverableError, Worker } from 'bullmq'
import { config } from '#app/config/env.server.ts'
import { workerConnection } from '#app/infra/redis.server.ts'
import { QUEUE } from './queues.ts'
import { createDeliver, PermanentMailError, sendMailJob, type Deliver } from './processors/send-mail.ts'

export type WorkerHandle = { close: () => Promise<void>; workers: Worker[] }

export async function startWorkers(options: { deliver?: Deliver } = {}): Promise<WorkerHandle> {
  const deliver = options.deliver ?? createDeliver()
  const mail = new Worker(
    QUEUE.mail,
    async (job) => {
      try {
        return await sendMailJob(job, deliver)
      } catch (e) {
        if (e instanceof PermanentMailError) throw new UnrecoverableError(e.message)
        throw e
      }
    },
    { connection: workerConnection(), prefix: config.redisPrefix, concurrency: 8 },
  )
  mail.on('failed', (job, err) => {
    console.warn(`[worker] mail job ${job?.id} attempt ${job?.attemptsMade} failed: ${err.message}`)
  })
  const workers = [mail]
  await Promise.all(workers.map((w) => w.waitUntilReady()))
  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()))
    },
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const handle = await startWorkers()
  console.log(`Workers started (queues: ${Object.values(QUEUE).join(', ')}; mail to ${config.smtpUrl ? 'SMTP' : 'the development mailbox'})`)
  const stop = async () => {
    await handle.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
