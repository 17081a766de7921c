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
import { instrumentWorker } from '#app/observability/jobs.server.ts'

export type WorkerHandle = { close: () => Promise<void>; workers: Worker[] }

/** Installs the repeating sweeps (idempotent: upsertJobScheduler replaces a scheduler of the same id). */
export async function scheduleSweeps() {
  for (const job of scheduledJobs()) await getQueue(job.queue).upsertJobScheduler(job.name, { every: job.every }, { name: job.name, data: {} })
}

/** A crashed worker's job goes back to the queue once its lock lapses (JOB_LOCK_SECONDS, decision 067). */
const hosting = { prefix: config.redisPrefix, lockDuration: config.jobLockMs, stalledInterval: config.jobLockMs }

export async function startWorkers(options: { deliver?: Deliver; schedule?: boolean } = {}): Promise<WorkerHandle> {
  const deliver = options.deliver ?? createDeliver()
  const workers = queuesWithJobs().map((queue) => {
    const worker = new Worker(queue, (job) => runJob(queue, job, { deliver }), {
      connection: workerConnection(),
      ...hosting,
      concurrency: QUEUE_CONCURRENCY[queue],
    })
    // Failures, mail and sweep metrics and their log lines (decision 067).
    instrumentWorker(worker)
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
