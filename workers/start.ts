/**
 * Starts every worker and scheduler (tests import this). The program is workers/index.ts,
 * which loads this module only after the configuration has loaded.
 */
import { UnrecoverableError, Worker } from 'bullmq'
import { config } from '#app/config/env.server.ts'
import { workerConnection } from '#app/infra/redis.server.ts'
import { getQueue, QUEUE, SWEEP, SWEEP_EVERY_MS } from '#app/jobs/queues.server.ts'
import { instrumentWorker } from '#app/observability/jobs.server.ts'
import { createDeliver, PermanentMailError, sendMailJob, type Deliver } from './processors/send-mail.ts'
import { sweepGrace } from './processors/sweep-grace.ts'
import { expireExemptions } from './processors/expire-exemptions.ts'
import { pruneAudit } from './processors/audit-retention.ts'
import { runNotification } from './processors/notify-run.ts'
import { requeueStalledRuns } from './processors/requeue-runs.ts'

export type WorkerHandle = { close: () => Promise<void>; workers: Worker[] }

/** Installs the repeating sweeps (idempotent: upsertJobScheduler replaces a scheduler of the same id). */
export async function scheduleSweeps() {
  const q = getQueue(QUEUE.sweeps)
  await q.upsertJobScheduler(SWEEP.grace, { every: SWEEP_EVERY_MS.grace }, { name: SWEEP.grace, data: {} })
  await q.upsertJobScheduler(SWEEP.exemptions, { every: SWEEP_EVERY_MS.exemptions }, { name: SWEEP.exemptions, data: {} })
  await q.upsertJobScheduler(SWEEP.retention, { every: SWEEP_EVERY_MS.retention }, { name: SWEEP.retention, data: {} })
}

/** A crashed worker's job goes back to the queue once its lock lapses (JOB_LOCK_SECONDS, decision 067). */
const hosting = { prefix: config.redisPrefix, lockDuration: config.jobLockMs, stalledInterval: config.jobLockMs }

export async function startWorkers(options: { deliver?: Deliver; schedule?: boolean } = {}): Promise<WorkerHandle> {
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
    { connection: workerConnection(), ...hosting, concurrency: 8 },
  )
  // Sweeps: one at a time (concurrency 1); each is idempotent, so an overlap elsewhere is harmless.
  const sweeps = new Worker(
    QUEUE.sweeps,
    async (job) => {
      if (job.name === SWEEP.grace) {
        const runs = await requeueStalledRuns()
        return { ...(await sweepGrace()), runs }
      }
      if (job.name === SWEEP.exemptions) return { expired: await expireExemptions() }
      if (job.name === SWEEP.retention) return await pruneAudit()
      throw new UnrecoverableError(`unknown sweep "${job.name}"`)
    },
    { connection: workerConnection(), ...hosting, concurrency: 1 },
  )
  const policy = new Worker(QUEUE.policy, async (job) => runNotification(job), { connection: workerConnection(), ...hosting, concurrency: 2 })
  const workers = [mail, sweeps, policy]
  // Failures, mail and sweep metrics and their log lines (decision 067).
  for (const worker of workers) instrumentWorker(worker)
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
