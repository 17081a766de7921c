/**
 * The shape of every background job (decision 064): a name, an ids-only payload schema and a
 * handler, declared beside the domain module it belongs to and listed in registry.server.ts.
 * workers/ only hosts them.
 */
import type { JobsOptions } from 'bullmq'
import { z } from 'zod'
import type { Deliver } from '#app/mail/send.server.ts'
import { QUEUE, type QueueName } from './queues.server.ts'

/** What the host gives a handler besides its payload: which try this is, and the mail transport. */
export type JobContext = { attemptsMade: number; attempts: number; deliver: Deliver }

// jobId and handler are methods (checked bivariantly), so every definition fits the registry's one list.
export type JobDefinition<Name extends string = string, Payload extends z.ZodType = z.ZodType> = {
  /** The BullMQ job name. Redis stores it with every waiting job and scheduler: never rename one. */
  name: Name
  queue: QueueName
  /** Ids only: BullMQ keeps payloads in clear in Redis (decision 004). Parsed before the handler runs. */
  payload: Payload
  /** Defaults for every enqueue (attempts, backoff, how many finished jobs Redis keeps). */
  options?: JobsOptions
  /** A job id taken from the payload, so queuing the same thing twice adds one job. */
  jobId?(payload: z.infer<Payload>): string
  /** Run by a job scheduler every this many ms (installed by the worker at start-up). */
  every?: number
  handler(payload: z.infer<Payload>, context: JobContext): Promise<unknown>
}

export function defineJob<const Name extends string, Payload extends z.ZodType>(definition: JobDefinition<Name, Payload>): JobDefinition<Name, Payload> {
  return definition
}

/** A sweep: repeated by a job scheduler on the sweeps queue (one at a time), with no payload. */
export function defineSweep<const Name extends string>(sweep: { name: Name; every: number; handler: () => Promise<unknown> }) {
  return defineJob({ name: sweep.name, queue: QUEUE.sweeps, payload: z.object({}).strict(), every: sweep.every, handler: () => sweep.handler() })
}

/** Thrown by a handler when trying again cannot help: the host fails the job without its retries. */
export class PermanentJobError extends Error {}
