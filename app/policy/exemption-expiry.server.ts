/**
 * The expire-exemptions job: records `org.exemption_expired` once per lapsed exemption. The lapse
 * itself needs no worker (enforcement compares expires_at with now); this only writes the record.
 * Set-based, in batches: one statement claims a batch of lapsed, unrecorded exemptions with
 * `FOR UPDATE SKIP LOCKED` (several workers share the work; none waits on another's batch), marks
 * them recorded, and the events are appended in the same transaction, so a rerun or a concurrent
 * worker records nothing twice. A rerun with nothing to do reads the partial index
 * `exemptions_expiry_pending` only.
 */
import { recordMany, systemActor } from '#app/audit/record.server.ts'
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { sql as pg } from '#db/client.ts'

export const exemptionExpiry = defineSweep({
  name: 'expire-exemptions',
  every: 15 * 60_000,
  handler: async () => ({ expired: await expireExemptions() }),
})

export async function expireExemptions(now = new Date(), batchSize = 1000): Promise<number> {
  const worker = systemActor('worker')
  let total = 0
  for (;;) {
    const n = await pg.begin(async (tx) => {
      const claimed = await tx<{ organization_id: string; user_id: string; details: Record<string, unknown> }[]>`
        with due as (
          select id from exemptions
          where expiry_recorded_at is null and expires_at is not null and expires_at <= ${now.toISOString()}::timestamptz
          order by expires_at limit ${batchSize}
          for update skip locked
        ),
        claimed as (
          update exemptions e set expiry_recorded_at = ${now.toISOString()}::timestamptz
          from due where e.id = due.id
          returning e.id, e.organization_id, e.user_id, e.region, e.reason, e.expires_at
        )
        select organization_id::text, user_id::text,
          jsonb_build_object('region', region, 'reason', reason, 'expiresAt', expires_at, 'exemptionId', id) as details
        from claimed order by organization_id, user_id`
      await recordMany(claimed.map((c) => ({ action: 'org.exemption_expired', actor: worker, organizationId: c.organization_id, subjectId: c.user_id, details: c.details })), tx)
      return claimed.length
    })
    total += n
    if (n < batchSize) return total
  }
}
