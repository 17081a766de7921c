/**
 * Queue names and payload schemas. Payloads carry ids only, never a secret, a code or a token:
 * BullMQ stores them in clear in Redis.
 */
import { Queue } from 'bullmq'
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

export async function closeQueues() {
  await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})))
  queues.clear()
}
