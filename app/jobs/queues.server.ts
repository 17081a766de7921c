/**
 * The queues themselves: names, how many jobs of each a worker runs at once, and the producer side
 * with its bounded wait. Which jobs run on them is the registry's business (registry.server.ts);
 * the app enqueues through the registry, never here.
 */
import { Queue, type JobsOptions } from 'bullmq'
import { config } from '#app/config/env.server.ts'
import { redisClient } from '#app/infra/redis.server.ts'

export const QUEUE = { mail: 'mail', sweeps: 'sweeps', policy: 'policy' } as const
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE]

/** Jobs run at once per worker: mail in parallel; sweeps one at a time (each is idempotent, so an overlap elsewhere is harmless). */
export const QUEUE_CONCURRENCY: Record<QueueName, number> = { mail: 8, sweeps: 1, policy: 2 }

const g = globalThis as unknown as { __gatehouseQueues?: Map<string, Queue> }
const queues = (g.__gatehouseQueues ??= new Map())

/** The producer side of a queue (fail-fast Redis client shared by the web app). */
export function getQueue(name: QueueName): Queue {
  let q = queues.get(name)
  if (!q) {
    q = new Queue(name, { connection: redisClient('queue'), prefix: config.redisPrefix })
    q.on('error', () => {})
    queues.set(name, q)
  }
  return q
}

/** BullMQ waits for a ready connection rather than failing: bound the wait so a Redis outage answers fast. */
const ADD_TIMEOUT_MS = 2000
/** Jobs per addBulk call, each call under the same bounded wait. */
const BULK = 500

export type NewJob = { name: string; data: Record<string, unknown>; opts: JobsOptions }

/** Adds jobs; rejects within two seconds per call when Redis does not answer (callers decide what that means). */
export async function addJobs(name: QueueName, jobs: NewJob[]): Promise<void> {
  const queue = getQueue(name)
  if (jobs.length === 1) return bounded(name, queue.add(jobs[0].name, jobs[0].data, jobs[0].opts))
  for (let i = 0; i < jobs.length; i += BULK) await bounded(name, queue.addBulk(jobs.slice(i, i + BULK)))
}

async function bounded(name: QueueName, added: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  added.catch(() => {}) // a late failure after the timeout must not surface as unhandled
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue ${name} did not answer within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS)
  })
  try {
    await Promise.race([added, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export async function closeQueues() {
  await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})))
  queues.clear()
}
