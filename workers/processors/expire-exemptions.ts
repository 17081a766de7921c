/**
 * Records `org.exemption_expired` once per lapsed exemption. The lapse itself needs no worker
 * (enforcement compares expires_at with now); this only writes the record. The UPDATE claims the
 * rows (expiry_recorded_at) and the audit insert happens in the same statement, so a rerun or a
 * concurrent worker records nothing twice.
 */
import { sql as pg } from '#db/client.ts'

export async function expireExemptions(now = new Date()): Promise<number> {
  const [res] = await pg<{ n: number }[]>`
    with claimed as (
      update exemptions set expiry_recorded_at = ${now.toISOString()}::timestamptz
      where expires_at <= ${now.toISOString()}::timestamptz and expiry_recorded_at is null
      returning id, organization_id, user_id, region, reason, expires_at
    ),
    audit as (
      insert into audit_events (chain, organization_id, actor_label, subject_id, action, details)
      select organization_id::text, organization_id, 'worker', user_id, 'org.exemption_expired',
        jsonb_build_object('region', region, 'reason', reason, 'expiresAt', expires_at, 'exemptionId', id)
      from claimed order by claimed.organization_id, claimed.user_id
      returning 1
    )
    select count(*)::int as n from audit`
  return res.n
}
