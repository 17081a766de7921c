/**
 * One change to an organization's security settings as the JSON API makes it: region policies
 * (one or several) and exemptions, validated, previewed and saved by the console's own functions
 * (region-policy.server.ts, exemptions.server.ts), all in ONE transaction: an error anywhere
 * (a bad exemption, a missing step-up) leaves nothing written. Notification runs start after the
 * commit, exactly as a console save does. A change that lowers protection anywhere is refused (and
 * the refusal recorded) before the transaction begins, unless a person with a fresh second factor
 * makes it (decision 056).
 */
import { and, eq } from 'drizzle-orm'
import type { Actor, RequestMeta } from '#app/audit/record.server.ts'
import { DomainError, isDomainError } from '#app/errors.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { addExemption, exemptionLowering } from './exemptions.server.ts'
import { requireLoweringAllowed, type ChangeAuthority } from './lowering.server.ts'
import { startNotificationRun } from './notification-runs.server.ts'
import { previewPolicyChange, saveRegionPolicy, type PolicyImpact, type RegionPolicy, type RegionPolicyInput } from './region-policy.server.ts'

export type ExemptionChange = { userId: string; reason: string; expiresAt: Date | null; region?: string }

export type SecurityChange = {
  scope: OrgScope
  /** Each region's complete proposed policy. */
  regions: { region: string; proposed: RegionPolicyInput }[]
  exemptions: ExemptionChange[]
  actor: Actor
  meta?: RequestMeta
  /** A session (with its last second factor) or an API key: only a fresh session may lower protection. */
  authority: ChangeAuthority
}

export type SecurityChangeResult = {
  regions: { region: string; changed: boolean; policy: RegionPolicy; impact: PolicyImpact; notificationRunId: string | null }[]
  exemptions: { id: string; userId: string; region: string; reason: string; expiresAt: Date | null }[]
}

export async function applySecurityChange(change: SecurityChange, now = new Date()): Promise<SecurityChangeResult> {
  const orgId = change.scope.orgId
  const known = new Set((await listOrgRegions(change.scope)).map((r) => r.region))
  change.regions.forEach((r) => {
    if (!known.has(r.region)) throw new DomainError('not_found', `This organization does not operate in region ${r.region.toUpperCase()}.`, 'region')
  })
  change.exemptions.forEach((e, i) => {
    if (e.region && !known.has(e.region)) throw new DomainError('invalid_request', `This organization does not operate in region ${e.region.toUpperCase()}.`, `exemptions.${i}.region`)
  })
  // The impact of each change, computed from the data before anything is saved (as the console's preview).
  const impacts = await Promise.all(change.regions.map((r) => previewPolicyChange(orgId, r.region, r.proposed, now)))
  // Every lowering of the whole change, checked (and a refusal recorded) before anything is written.
  const exemptionsLowered = await Promise.all(
    change.exemptions.map(async (e) => {
      const region = e.region ?? (await memberRegion(change.scope, e.userId, db))
      return region ? (await exemptionLowering(change.scope, { userId: e.userId, region, reason: e.reason, expiresAt: e.expiresAt }, now))?.lowered ?? null : null
    }),
  )
  const lowered = [...impacts.flatMap((i) => i.lowered.map((l) => `${i.region.toUpperCase()}: ${l}`)), ...exemptionsLowered.filter((l): l is string => l !== null)]
  await requireLoweringAllowed(change.authority, lowered, { actor: change.actor, attempt: 'org.security_changed', organizationId: orgId, meta: change.meta }, now)

  const saved = await db.transaction(async (tx) => {
    const regions = []
    for (const [i, r] of change.regions.entries()) {
      const result = await saveRegionPolicy({ orgId, region: r.region, proposed: r.proposed, actor: change.actor, meta: change.meta, authority: change.authority, loweringChecked: true, now }, tx)
      if (!result) throw new DomainError('not_found', `This organization does not operate in region ${r.region.toUpperCase()}.`, 'region')
      regions.push({ region: r.region, changed: result.changed, policy: result.policy, runKind: result.runKind, impact: impacts[i] })
    }
    const exemptions = []
    for (const [i, e] of change.exemptions.entries()) {
      try {
        const region = e.region ?? (await memberRegion(change.scope, e.userId, tx))
        if (!region) throw new DomainError('invalid_request', 'No member of this organization has that id.', 'userId')
        const row = await addExemption(change.scope, { userId: e.userId, region, reason: e.reason, expiresAt: e.expiresAt }, change.actor, change.authority, change.meta, now, tx, true)
        exemptions.push({ id: row.id, userId: row.userId, region: row.region, reason: row.reason, expiresAt: row.expiresAt })
      } catch (err) {
        // Name the exemption in the field, so a script knows which entry to fix.
        if (isDomainError(err) && err.field) throw new DomainError(err.code, err.message, `exemptions.${i}.${err.field}`)
        throw err
      }
    }
    return { regions, exemptions }
  })

  const regions = []
  for (const r of saved.regions) {
    const notificationRunId = r.runKind ? await startNotificationRun(orgId, r.region, r.runKind) : null
    regions.push({ region: r.region, changed: r.changed, policy: r.policy, impact: r.impact, notificationRunId })
  }
  return { regions, exemptions: saved.exemptions }
}

async function memberRegion(scope: OrgScope, userId: string, tx: Tx = db) {
  const m = schema.memberships
  const [row] = await tx
    .select({ region: schema.users.region })
    .from(m)
    .innerJoin(schema.users, eq(schema.users.id, m.userId))
    .where(scope.where(m.organizationId, and(eq(m.userId, userId))))
  return row?.region
}
