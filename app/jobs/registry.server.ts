/**
 * Every background job, in one list (decision 064). Each is defined beside its domain module; the
 * app queues through `enqueue` here (the payload's type follows from the job's name), and the
 * worker program asks `scheduledJobs` and `runJob` what to run. Nothing here imports workers/.
 */
import { UnrecoverableError } from 'bullmq'
import type { z } from 'zod'
import { auditRetention } from '#app/audit/retention.server.ts'
import { sendMail } from '#app/mail/send.server.ts'
import { exemptionExpiry } from '#app/policy/exemption-expiry.server.ts'
import { graceSweep } from '#app/policy/grace-sweep.server.ts'
import { notifyRun } from '#app/policy/notification-runs.server.ts'
import { PermanentJobError, type JobContext, type JobDefinition } from './define-job.server.ts'
import { addJobs, type QueueName } from './queues.server.ts'

// A function, not a constant: the modules that define jobs also enqueue through this one, so the
// list is read when a job is queued or run, after every module has loaded.
const definitions = () => [sendMail, notifyRun, graceSweep, exemptionExpiry, auditRetention] as const

type Definition = ReturnType<typeof definitions>[number]
export type JobName = Definition['name']
export type PayloadOf<N extends JobName> = z.input<Extract<Definition, { name: N }>['payload']>

/** Every definition, as the worker and the registry's test read them. */
export const jobDefinitions = (): readonly JobDefinition[] => definitions()

function find(name: string, queue?: string): JobDefinition | undefined {
  const job = jobDefinitions().find((d) => d.name === name)
  return job && (queue === undefined || job.queue === queue) ? job : undefined
}

/** Queues jobs of one kind; rejects within seconds when Redis does not answer (callers decide what that means). */
export async function enqueue<N extends JobName>(name: N, payloads: PayloadOf<N> | PayloadOf<N>[]): Promise<void> {
  const job = find(name)!
  const jobs = (Array.isArray(payloads) ? payloads : [payloads]).map((p) => {
    const data = job.payload.parse(p) as Record<string, unknown>
    return { name, data, opts: { ...job.options, ...(job.jobId && { jobId: job.jobId(data) }) } }
  })
  if (jobs.length) await addJobs(job.queue, jobs)
}

/** The jobs a job scheduler repeats, by queue. */
export function scheduledJobs(): { name: string; queue: QueueName; every: number }[] {
  return jobDefinitions().flatMap((d) => (d.every ? [{ name: d.name, queue: d.queue, every: d.every }] : []))
}

export const queuesWithJobs = (): QueueName[] => [...new Set(jobDefinitions().map((d) => d.queue))]

/**
 * Runs one job taken from `queue`: finds its definition, checks the payload, calls the handler. An
 * unknown job or a payload that does not parse fails at once; so does a handler's PermanentJobError.
 */
export async function runJob(queue: string, job: { name: string; data: unknown; attemptsMade: number; opts: { attempts?: number } }, context: Pick<JobContext, 'deliver'>): Promise<unknown> {
  const definition = find(job.name, queue)
  if (!definition) throw new UnrecoverableError(`unknown job "${job.name}" on queue ${queue}`)
  const payload = definition.payload.safeParse(job.data)
  if (!payload.success) throw new UnrecoverableError(`job "${job.name}" has a payload that does not parse`)
  try {
    return await definition.handler(payload.data, { ...context, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 })
  } catch (e) {
    if (e instanceof PermanentJobError) throw new UnrecoverableError(e.message)
    throw e
  }
}
