/**
 * The expire-exemptions job: records `org.exemption_expired` once per lapsed exemption. The lapse
 * itself needs no worker (enforcement compares expires_at with now); this only writes the record.
 * The UPDATE claims the rows (expiry_recorded_at) and the events are appended in the same
 * transaction, so a rerun or a concurrent worker records nothing twice.
 */
import { recordMany, systemActor } from '#app/audit/record.server.ts'
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { sql as pg } from '#db/client.ts'

export const exemptionExpiry = defineSweep({
  name: 'expire-exemptions',
  every: 15 * 60_000,
  handler: async () => ({ expired: await expireExemptions() }),
})

export async function expireExemptions(now = new Date()): Promise<number> {
  return pg.begin(async (tx) => {
    const claimed = await tx<{ organization_id: string; user_id: string; details: Record<string, unknown> }[]>`
      with claimed as (
        update exemptions set expiry_recorded_at = ${now.toISOString()}::timestamptz
        where expires_at <= ${now.toISOString()}::timestamptz and expiry_recorded_at is null
        returning id, organization_id, user_id, region, reason, expires_at
      )
      select organization_id::text, user_id::text,
        jsonb_build_object('region', region, 'reason', reason, 'expiresAt', expires_at, 'exemptionId', id) as details
      from claimed order by organization_id, user_id`
    const worker = systemActor('worker')
    return recordMany(claimed.map((c) => ({ action: 'org.exemption_expired', actor: worker, organizationId: c.organization_id, subjectId: c.user_id, details: c.details })), tx)
  })
}
