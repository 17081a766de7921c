/**
 * Starts a worker for every queue of the job registry and installs its schedulers (tests import
 * this). The jobs themselves are defined beside their domain modules (decision 064); this program
 * only hosts them. The entry point is workers/index.ts, which loads this module only after the
 * configuration has loaded.
 */
import { Worker } from 'bullmq'
import { config } from '#app/config/env.server.ts'
import { workerConnection } from '#app/infra/redis.server.ts'
import { getQueue, QUEUE_CONCURRENCY } from '#app/jobs/queues.server.ts'
import { queuesWithJobs, runJob, scheduledJobs } from '#app/jobs/registry.server.ts'
import { createDeliver, type Deliver } from '#app/mail/send.server.ts'

export type WorkerHandle = { close: () => Promise<void>; workers: Worker[] }

/** Installs the repeating sweeps (idempotent: upsertJobScheduler replaces a scheduler of the same id). */
export async function scheduleSweeps() {
  for (const job of scheduledJobs()) await getQueue(job.queue).upsertJobScheduler(job.name, { every: job.every }, { name: job.name, data: {} })
}

export async function startWorkers(options: { deliver?: Deliver; schedule?: boolean } = {}): Promise<WorkerHandle> {
  const deliver = options.deliver ?? createDeliver()
  const workers = queuesWithJobs().map((queue) => {
    const worker = new Worker(queue, (job) => runJob(queue, job, { deliver }), {
      connection: workerConnection(),
      prefix: config.redisPrefix,
      concurrency: QUEUE_CONCURRENCY[queue],
    })
    worker.on('failed', (job, err) => console.warn(`[worker] ${queue} job ${job?.name} ${job?.id} attempt ${job?.attemptsMade} failed: ${err.message}`))
    return worker
  })
  // Tests schedule explicitly (scheduleSweeps): a sweep firing on its own in another test's
  // database would send reminders that test did not ask for.
  if (options.schedule ?? config.env !== 'test') await scheduleSweeps()
  await Promise.all(workers.map((w) => w.waitUntilReady()))
  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()))
    },
  }
}
