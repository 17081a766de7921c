/**
 * Jobs, as an operator sees them (decision 067): each worker's job events become log lines and
 * metrics (failures per queue, mail sent and failed, sweep durations), and the queue depths are
 * read from Redis whenever /metrics is scraped.
 */
import type { Job, Worker } from 'bullmq'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { logger } from './logger.server.ts'
import { metrics, type QueueDepth } from './metrics.server.ts'

const log = logger.child({ component: 'jobs' })
const STATES = ['waiting', 'active', 'delayed', 'failed'] as const
/** A scrape must answer even when Redis does not: the depths are left out then. */
const DEPTH_TIMEOUT_MS = 1000

/** Counts and logs what this worker's jobs do. Call once per worker, right after creating it. */
export function instrumentWorker(worker: Worker) {
  worker.on('completed', (job, result) => {
    observe(worker.name, job, false, result)
  })
  worker.on('failed', (job, err) => {
    if (!job) return
    // attemptsMade already counts this attempt when the event fires.
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)
    observe(worker.name, job, true, undefined, final)
    log.warn({ queue: worker.name, job: job.name, jobId: job.id, attempt: job.attemptsMade, final, error: err.message }, 'job failed')
  })
  // Without a listener an 'error' event would end the process; BullMQ reconnects by itself.
  worker.on('error', (err) => log.warn({ queue: worker.name, error: err.message }, 'worker error'))
}

function observe(queue: string, job: Job, failed: boolean, result?: unknown, final = false) {
  const seconds = job.processedOn ? (Date.now() - job.processedOn) / 1000 : 0
  if (failed) metrics.jobFailures.inc({ queue, job: job.name })
  if (queue === QUEUE.mail) {
    if (!failed && result === 'sent') metrics.mailSent.inc()
    if (failed && final) metrics.mailFailed.inc()
  }
  if (queue === QUEUE.sweeps) {
    metrics.sweepDuration.observe({ sweep: job.name, result: failed ? 'failed' : 'done' }, seconds)
    if (!failed) log.info({ sweep: job.name, seconds, result }, 'sweep done')
  }
}

/** Makes /metrics report every queue's depth, read from Redis at scrape time. */
export function installQueueDepths() {
  metrics.queueDepths.read = readQueueDepths
}

async function readQueueDepths(): Promise<QueueDepth[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${DEPTH_TIMEOUT_MS} ms`)), DEPTH_TIMEOUT_MS)
  })
  try {
    const names = Object.values(QUEUE)
    const counts = await Promise.race([Promise.all(names.map((name) => getQueue(name).getJobCounts(...STATES))), timeout])
    return names.flatMap((queue, i) => STATES.map((state) => ({ queue, state, count: counts[i][state] ?? 0 })))
  } catch (e) {
    log.warn({ error: (e as Error).message }, 'queue depths not read')
    return []
  } finally {
    clearTimeout(timer)
  }
}
