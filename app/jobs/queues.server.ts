/**
 * Queue names and payload schemas, defined in the domain: the app and the CLI enqueue here, and
 * workers/ only hosts the queues. Payloads carry ids only, never a secret, a code or a token:
 * BullMQ stores them in clear in Redis.
 */
import { Queue, type JobsOptions } from 'bullmq'
import { z } from 'zod'
import { config } from '#app/config/env.server.ts'
import { redisClient } from '#app/infra/redis.server.ts'

export const QUEUE = { mail: 'mail', sweeps: 'sweeps', policy: 'policy' } as const
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE]

export const mailPayload = z.object({ emailId: z.string().uuid() }).strict()
export type MailPayload = z.infer<typeof mailPayload>

export const sweepPayload = z.object({ runId: z.string().uuid().optional() }).strict()

/** Job names on the sweeps queue, each run by a job scheduler (upsertJobScheduler). */
export const SWEEP = { grace: 'sweep-grace', exemptions: 'expire-exemptions', retention: 'audit-retention' } as const
export const SWEEP_EVERY_MS = { grace: 15 * 60_000, exemptions: 15 * 60_000, retention: 24 * 3600_000 } as const

/** A notification run (notification_runs row): emails every affected member of a region. */
export const notifyRunPayload = z.object({ runId: z.string().uuid() }).strict()
export type NotifyRunPayload = z.infer<typeof notifyRunPayload>

/** Retries with exponential backoff: 5 tries over about a minute, then the email is marked failed. */
export const MAIL_JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 5000 }

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

/** Adds a job; rejects within two seconds when Redis does not answer (callers decide what that means). */
export async function addJob(name: QueueName, jobName: string, payload: Record<string, unknown>, options: JobsOptions = {}): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const added = getQueue(name).add(jobName, payload, options)
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
