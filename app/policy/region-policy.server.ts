/**
 * The region policy console's domain: validation, impact preview, save (with audit, a person's
 * fresh second factor for any lowering (decision 056), `required_since` only when a region becomes
 * Required, and the notification run).
 * The web page and the JSON API (/api/organizations/:orgId/security) call these same functions.
 */
import { and, eq } from 'drizzle-orm'
import { z } from 'zod'
import { recordAudit, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { keyedHash, keyedHashes, safeEqual } from '#app/auth/crypto.server.ts'
import { DomainError } from '#app/errors.ts'
import { db, schema, sql as pg, type Tx } from '#db/client.ts'
import type { RegionPolicyInput } from './policy.schema.ts'
import { policyLowerings } from './lowering.ts'
import { requireLoweringAllowed, type ChangeAuthority } from './lowering.server.ts'
import { asDate, hasAllowedFactor, proposedStatusInputs } from './member-status.server.ts'
import { startNotificationRun, type RunKind } from './notification-runs.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'


export { regionPolicyInput, type RegionPolicyInput } from './policy.schema.ts'
export type RegionPolicy = typeof schema.regionPolicies.$inferSelect

export const policyFields = (p: RegionPolicy | RegionPolicyInput) => ({
  mode: p.mode, allowedMethods: [...p.allowedMethods], gracePeriodDays: p.gracePeriodDays, onDeadline: p.onDeadline, rememberDeviceDays: p.rememberDeviceDays,
})

export async function getRegionPolicy(orgId: string, region: string) {
  const [row] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, region)))
  return row
}

export type PolicyImpact = {
  region: string
  members: number
  exempt: number
  /** Non-exempt members who would hold no allowed factor (only when the proposal is Required). */
  withoutAllowedFactor: number
  /** Of those, how many would be past their deadline at once. */
  overdueAtOnce: number
  /** The earliest deadline those members would get. */
  earliestDeadline: Date | null
  becomesRequired: boolean
  becomesDisabled: boolean
  /** Email code would be the only allowed factor while password reset also goes by email. */
  emailOnlyWarning: boolean
  /** What the change lowers, in words ([] when it lowers nothing): saving it needs a person's fresh second factor. */
  lowered: string[]
  /** The members whose protection it lowers: the non-exempt members in the region (0 when nothing is lowered). */
  lowersProtectionFor: number
  summary: string
}

const fmtDate = (d: Date) => formatUtc(d, 'date')

/**
 * What a change would do, computed from the data (one query) before anything is saved. `current`
 * is the stored policy when the caller has already read it (a review binds its token to that row).
 */
export async function previewPolicyChange(orgId: string, region: string, proposed: RegionPolicyInput, now = new Date(), current?: RegionPolicy): Promise<PolicyImpact> {
  current ??= await getRegionPolicy(orgId, region)
  const becomesRequired = proposed.mode === 'required' && current?.mode !== 'required'
  const requiredSince = becomesRequired ? now : (current?.requiredSince ?? now)
  const r = proposedStatusInputs(now, { allowedMethods: proposed.allowedMethods, requiredSince, gracePeriodDays: proposed.gracePeriodDays })
  // The proposal in place of the stored policy, over the read model (decisions 076, 078): the
  // members' stored factors, join dates, exemptions and extensions; no users row is read.
  const [row] = await pg<{ members: number; exempt: number; without: number; overdue: number; earliest: Date | null }[]>`
    with rows as (
      select ${r.exempt} as exempt, ${r.allowedFactor} as ok, ${r.deadline} as deadline
      from memberships m
      where m.organization_id = ${orgId} and m.user_region = ${region})
    select count(*)::int as members, count(*) filter (where exempt)::int as exempt,
      count(*) filter (where not exempt and not ok)::int as without,
      count(*) filter (where not exempt and not ok and deadline <= ${now.toISOString()}::timestamptz)::int as overdue,
      min(deadline) filter (where not exempt and not ok) as earliest
    from rows`
  const required = proposed.mode === 'required'
  const without = required ? row.without : 0
  const impact: PolicyImpact = {
    region,
    members: row.members,
    exempt: row.exempt,
    withoutAllowedFactor: without,
    overdueAtOnce: required ? row.overdue : 0,
    earliestDeadline: required && without ? asDate(row.earliest) : null,
    becomesRequired,
    becomesDisabled: proposed.mode === 'disabled' && current?.mode !== 'disabled',
    emailOnlyWarning: proposed.mode !== 'disabled' && proposed.allowedMethods.length === 1 && proposed.allowedMethods[0] === 'email',
    lowered: [],
    lowersProtectionFor: 0,
    summary: '',
  }
  if (current) {
    impact.lowered = policyLowerings(current, proposed).map((l) => l.description)
    impact.lowersProtectionFor = impact.lowered.length ? row.members - row.exempt : 0
  }
  impact.summary = describeImpact(impact)
  return impact
}

export function describeImpact(i: PolicyImpact): string {
  const R = i.region.toUpperCase()
  const num = (k: number) => k.toLocaleString('en-US')
  const parts: string[] = []
  if (i.lowered.length) parts.push(`${loweringHeadline(i)}: ${i.lowered.join('; ')}`)
  if (i.becomesDisabled) parts.push(`${num(i.members)} ${i.members === 1 ? 'member' : 'members'} in ${R} will no longer be asked for a second factor; enrolled factors are kept`)
  else if (i.withoutAllowedFactor > 0) {
    let s = `${num(i.withoutAllowedFactor)} ${i.withoutAllowedFactor === 1 ? 'member' : 'members'} in ${R} ${i.withoutAllowedFactor === 1 ? 'has' : 'have'} no allowed factor`
    if (i.earliestDeadline) s += `; they will have until ${fmtDate(i.earliestDeadline)} to enrol`
    if (i.overdueAtOnce > 0) s += ` (${num(i.overdueAtOnce)} ${i.overdueAtOnce === 1 ? 'is' : 'are'} past the deadline at once)`
    parts.push(s)
  } else parts.push(`All ${num(i.members - i.exempt)} non-exempt ${i.members - i.exempt === 1 ? 'member' : 'members'} in ${R} hold an allowed factor`)
  parts.push(`${num(i.exempt)} ${i.exempt === 1 ? 'is' : 'are'} exempt`)
  return parts.join('; ')
}

/** "Lowers protection for 12 members" (the review's plain statement of a lowering). */
export const loweringHeadline = (i: Pick<PolicyImpact, 'lowersProtectionFor'>) =>
  `Lowers protection for ${i.lowersProtectionFor.toLocaleString('en-US')} ${i.lowersProtectionFor === 1 ? 'member' : 'members'}`

/** One field that a change moves from `old` to `new`. */
export type PolicyFieldChange = { [K in keyof ReturnType<typeof policyFields>]: { field: K; old: ReturnType<typeof policyFields>[K]; new: ReturnType<typeof policyFields>[K] } }[keyof ReturnType<typeof policyFields>]

export function policyFieldChanges(before: ReturnType<typeof policyFields>, after: ReturnType<typeof policyFields>): PolicyFieldChange[] {
  return (Object.keys(before) as (keyof typeof before)[])
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ field: k, old: before[k], new: after[k] }) as PolicyFieldChange)
}

/*
 * A review token binds a console save to the exact change the admin reviewed: the organization,
 * the region, the exact new values, the stored policy they were compared with (its values,
 * required_since and updated_at), the admin who reviewed, and when. It is
 * "<updatedAt ms>.<reviewed at ms>.<keyed hash>": the two times in clear only tell a stale or
 * expired review from a token for other values; the keyed hash covers them, so they cannot be edited.
 * A review counts for 30 minutes: the impact it showed was computed from the data at that time.
 */
export const REVIEW_MINUTES = 30

const reviewPayload = (orgId: string, region: string, stored: RegionPolicy, next: RegionPolicyInput, reviewerId: string, reviewedAt: number) =>
  JSON.stringify({
    orgId,
    region,
    new: policyFields(next),
    old: { ...policyFields(stored), requiredSince: stored.requiredSince?.toISOString() ?? null },
    updatedAt: stored.updatedAt.toISOString(),
    reviewerId,
    reviewedAt,
  })

export function policyReviewToken(orgId: string, region: string, stored: RegionPolicy, next: RegionPolicyInput, reviewerId: string, reviewedAt = Date.now()): string {
  return `${stored.updatedAt.getTime()}.${reviewedAt}.${keyedHash('policy-review', reviewPayload(orgId, region, stored, next, reviewerId, reviewedAt))}`
}

/** The save was not bound to a recent review, by this admin, of these values against the policy as it is now. */
function reviewRefusal(reason: 'missing' | 'stale' | 'expired' | 'mismatch'): DomainError {
  return new DomainError(
    'review_required',
    reason === 'missing'
      ? 'Review the change first: nothing was saved.'
      : reason === 'stale'
        ? 'The policy changed since you reviewed it (someone else saved it): review the change again. Nothing was saved.'
        : reason === 'expired'
          ? `Your review is more than ${REVIEW_MINUTES} minutes old, so its impact may have changed: review the change again. Nothing was saved.`
          : 'These are not the values you reviewed: review the change first. Nothing was saved.',
  )
}

export function checkPolicyReviewToken(
  orgId: string, region: string, stored: RegionPolicy, next: RegionPolicyInput, reviewerId: string, token: string | null | undefined, now = Date.now(),
): void {
  if (!token) throw reviewRefusal('missing')
  const [version, reviewedAtText] = token.split('.', 2)
  const reviewedAt = Number(reviewedAtText)
  if (!Number.isSafeInteger(reviewedAt)) throw reviewRefusal('mismatch')
  // Any key of the hash ring: a review made just before the ring was rotated still counts (decision 062).
  const payload = reviewPayload(orgId, region, stored, next, reviewerId, reviewedAt)
  const prefix = `${stored.updatedAt.getTime()}.${reviewedAt}.`
  if (!keyedHashes('policy-review', payload).some((h) => safeEqual(token, prefix + h))) {
    throw reviewRefusal(version !== String(stored.updatedAt.getTime()) ? 'stale' : 'mismatch')
  }
  if (now - reviewedAt > REVIEW_MINUTES * 60_000) throw reviewRefusal('expired')
}

export type PolicyReview = {
  region: string
  /** The stored values and the proposed ones, with the fields that differ. */
  old: ReturnType<typeof policyFields>
  new: ReturnType<typeof policyFields>
  changes: PolicyFieldChange[]
  impact: PolicyImpact
  /** Null when nothing would change ("Nothing to save"). */
  token: string | null
}

/**
 * The console's review of a change before it is saved: the impact computed from the data, the old
 * and new values, and the token a save must carry (see `requireReview` on RegionPolicyChange).
 * Null when the organization has no policy in that region.
 */
export async function reviewPolicyChange(orgId: string, region: string, proposed: RegionPolicyInput, reviewerId: string, now = new Date()): Promise<PolicyReview | null> {
  const stored = await getRegionPolicy(orgId, region)
  if (!stored) return null
  const impact = await previewPolicyChange(orgId, region, proposed, now, stored)
  const old = policyFields(stored)
  const next = policyFields(proposed)
  const changes = policyFieldChanges(old, next)
  return { region, old, new: next, changes, impact, token: changes.length ? policyReviewToken(orgId, region, stored, proposed, reviewerId, now.getTime()) : null }
}

/**
 * Saves one region's policy. A lowering needs a person's fresh second factor (decision 056:
 * DomainError person_required or step_up_required, audited, nothing written). Records
 * org.policy_changed with old and new values in the same transaction; `required_since` is set only
 * when the region becomes Required. Starts a notification run when it becomes Required or Disabled.
 */
export type RegionPolicyChange = {
  orgId: string
  region: string
  proposed: RegionPolicyInput
  actor: Actor
  meta?: RequestMeta
  /** Who saves: a session (with its last second factor) or an API key; only a fresh session may lower. */
  authority: ChangeAuthority
  /**
   * Set by a caller that already checked (and audited) the lowering before its transaction began
   * (the API's multi-region change): the check here, under the row lock, then only catches a policy
   * that changed in between, and throws without recording, because this transaction may already
   * hold the audit chain's lock that a separate refusal record would wait for.
   */
  loweringChecked?: boolean
  now?: Date
  /**
   * The console saves only a change the admin reviewed: the token from reviewPolicyChange, checked
   * against the row locked for the update (so a review that another save overtook is refused with
   * DomainError review_required). The API does not ask for one (scripts); its answer carries the impact.
   */
  review?: { token: string | null | undefined }
}

export async function updateRegionPolicy(input: RegionPolicyChange): Promise<{ changed: boolean; policy: RegionPolicy; runId: string | null } | null> {
  const result = await db.transaction((tx) => saveRegionPolicy(input, tx))
  if (!result) return null
  const runId = result.runKind ? await startNotificationRun(input.orgId, input.region, result.runKind) : null
  return { changed: result.changed, policy: result.policy, runId }
}

/**
 * The save itself, inside the caller's transaction (the API saves several regions and exemptions
 * as one). The caller starts the notification run (`runKind`) only after its transaction commits,
 * so the worker never reads a policy that was rolled back.
 */
export async function saveRegionPolicy(input: RegionPolicyChange, tx: Tx): Promise<{ changed: boolean; policy: RegionPolicy; runKind: RunKind | null } | null> {
  const now = input.now ?? new Date()
  const [old] = await tx
    .select()
    .from(schema.regionPolicies)
    .where(and(eq(schema.regionPolicies.organizationId, input.orgId), eq(schema.regionPolicies.region, input.region)))
    .for('update')
  if (!old) return null
  const next = input.proposed
  const before = policyFields(old)
  const after = policyFields(next)
  if (JSON.stringify(before) === JSON.stringify(after)) return { changed: false, policy: old, runKind: null }
  if (input.review) checkPolicyReviewToken(input.orgId, input.region, old, next, input.actor.id ?? '', input.review.token, now.getTime())
  const lowered = policyLowerings(old, next).map((l) => l.description)
  await requireLoweringAllowed(input.authority, lowered, { actor: input.actor, attempt: 'org.policy_changed', organizationId: input.orgId, meta: input.meta, details: { region: input.region } }, now, { record: !input.loweringChecked })
  const becomesRequired = next.mode === 'required' && old.mode !== 'required'
  const [policy] = await tx
    .update(schema.regionPolicies)
    .set({ ...after, requiredSince: becomesRequired ? now : old.requiredSince, updatedBy: input.actor.id, updatedAt: now })
    .where(and(eq(schema.regionPolicies.organizationId, input.orgId), eq(schema.regionPolicies.region, input.region)))
    .returning()
  await recordAudit(
    {
      action: 'org.policy_changed', actor: input.actor, organizationId: input.orgId, meta: input.meta,
      details: { region: input.region, old: { ...before, requiredSince: old.requiredSince }, new: { ...after, requiredSince: policy.requiredSince } },
    },
    tx,
  )
  const runKind: RunKind | null = becomesRequired ? 'policy_required' : next.mode === 'disabled' && old.mode !== 'disabled' ? 'policy_disabled' : null
  return { changed: true, policy, runKind }
}

export { hasAllowedFactor }
