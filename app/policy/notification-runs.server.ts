/**
 * Notification runs: emailing every affected member of a region (a policy became Required or
 * Disabled) as a job whose progress the admin sees (notification_runs). The job carries the run id.
 */
import { and, desc, eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { addJob, QUEUE, type NotifyRunPayload } from '#app/jobs/queues.server.ts'

export type RunKind = 'policy_required' | 'policy_disabled'

export async function startNotificationRun(orgId: string, region: string, kind: RunKind): Promise<string> {
  const [run] = await db.insert(schema.notificationRuns).values({ organizationId: orgId, region, kind }).returning({ id: schema.notificationRuns.id })
  await enqueueRun(run.id)
  return run.id
}

/** Enqueues (or re-enqueues: the job id is the run id) a run. Redis down: the sweep retries it later. */
export async function enqueueRun(runId: string): Promise<boolean> {
  try {
    const payload: NotifyRunPayload = { runId }
    await addJob(QUEUE.policy, 'notify-run', payload, { jobId: runId, attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 100, removeOnFail: 1000 })
    return true
  } catch (e) {
    console.warn(`[policy] notification run ${runId} not queued yet: ${(e as Error).message}`)
    return false
  }
}

export async function listRecentRuns(orgId: string, limit = 5) {
  const r = schema.notificationRuns
  return db.select().from(r).where(and(eq(r.organizationId, orgId))).orderBy(desc(r.createdAt)).limit(limit)
}
