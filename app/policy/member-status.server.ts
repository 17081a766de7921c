/**
 * The status of a member under ONE organization's policy, in SQL.
 *
 * The members list reads the READ MODEL (decisions 076, 078): policy-independent columns kept
 * beside each membership by PostgreSQL triggers (db/migrations/0010, 0014), joined at read time with
 * the organization's policy row in the member's region. `storedStatus`, `storedPendingDeadline` and
 * `storedStatusIs` below are the one predicate over those columns, the policy and `now`, used by the
 * members page, the CSV, the overview chart and the impact preview; neither time passing nor a
 * policy save writes a membership row. Over one organization, the members page and the overview
 * bind its policies as values instead of joining them (`…Under`, `readUnderPolicies`: decision 085).
 *
 * The computed forms further down (`statusExpr`, `joinedStatus`...) read the source tables: they are
 * the ORACLE the read model is checked against (`verify-members`, the property test), and the sweep's
 * filter. Mirrors `orgStatus` in effective-policy.ts; the integration tests check the two agree.
 *
 * Expects, in the surrounding query: `m` memberships, `u` users, `p` region_policies (left joined on
 * organization and the member's region; a missing row reads as the default, optional).
 * Every subquery hits an index: totp_factors.user_id (unique), webauthn_credentials_user,
 * exemptions_org_user_region, deadline_extensions_org_user_region.
 *
 * Also loads one member's plain policy input (`loadPolicyInput`) and decides with the pure
 * `effectivePolicy` (`loadEffectivePolicy`): the one enforcement at request time.
 */
import type { PendingQuery, TransactionSql } from 'postgres'
import { sql as pg, type SqlTx } from '#db/client.ts'
import { effectivePolicy, type DeadlineAction, type Method, type Mode, type PolicyDecision, type PolicyInput } from './effective-policy.ts'

type Fragment = PendingQuery<any>
export type Status = 'compliant' | 'in_grace' | 'overdue' | 'exempt'
const at = (now: Date) => pg`${now.toISOString()}::timestamptz`

// The read model's predicate (decisions 076, 078). Expects `m`, a memberships row with its
// read-model columns (exempt_until: a service account's exemption here, 'infinity' without an end;
// has_totp, has_key, joined_at, extension_deadline), and `p`, the organization's policy in the
// member's region, left joined with `policyJoin` (no row reads as the default: optional, all
// allowed). Whether the member holds an allowed factor and its deadline are computed here from the
// two, through the database's own expressions (member_allowed_factor, member_deadline: inlined SQL
// functions), so that a policy save writes no membership row. Each status as a WHERE clause.

/** The policy of `m`'s organization in `m`'s region, as `p` (one primary-key probe per organization and region). */
export const policyJoin = pg`left join region_policies p on p.organization_id = m.organization_id and p.region = m.user_region`

/**
 * The policy's four inputs in the predicate: the left-joined row `p` (`joinedPolicy`), or one
 * region's policy as bound values (`boundPolicy`). Bound, PostgreSQL folds the predicate into
 * conditions on `m`'s own columns, which the facts index serves as a range (decision 085).
 */
type PolicyTerms = { mode: Fragment; allowedMethods: Fragment; requiredSince: Fragment; gracePeriodDays: Fragment }
const joinedPolicy: PolicyTerms = { mode: pg`p.mode`, allowedMethods: pg`p.allowed_methods`, requiredSince: pg`p.required_since`, gracePeriodDays: pg`p.grace_period_days` }
/** A region's stored policy, as `policiesOf` reads it; null reads as no row (the default). */
export type RegionPolicyTerms = { region: string; mode: Mode; allowedMethods: string[]; requiredSince: Date | string | null; gracePeriodDays: number }
const boundPolicy = (p: RegionPolicyTerms | null): PolicyTerms => ({
  mode: pg`${p?.mode ?? null}::policy_mode`,
  allowedMethods: pg`${p?.allowedMethods ?? null}::text[]`,
  requiredSince: pg`${asDate(p?.requiredSince)?.toISOString() ?? null}::timestamptz`,
  gracePeriodDays: pg`${p?.gracePeriodDays ?? null}::int`,
})

const allowedUnder = (t: PolicyTerms) => pg`member_allowed_factor(${t.allowedMethods}, m.has_totp, m.has_key)`
const deadlineUnder = (t: PolicyTerms) => pg`member_deadline(${t.mode}, ${t.requiredSince}, ${t.gracePeriodDays}, m.joined_at, m.extension_deadline)`
/** Holds a factor the policy `p` allows (true without a policy row). */
export const storedAllowed = allowedUnder(joinedPolicy)
/** The deadline under the policy `p`: only under Required, the extension never shortens it. */
export const storedDeadline = deadlineUnder(joinedPolicy)

const storedExempt = (now: Date) => pg`coalesce(m.exempt_until > ${at(now)}, false)`
const storedOwes = (now: Date, t = joinedPolicy) => pg`(not ${storedExempt(now)} and ${t.mode} = 'required' and not ${allowedUnder(t)})`

/** "The membership `m` has this status now", from the read model and the policy `p`: a WHERE clause, not for negating (exempt can be NULL). */
export function storedStatusIs(status: Status, now: Date, t = joinedPolicy): Fragment {
  switch (status) {
    // As a WHERE clause NULL is false already; the strict comparison lets the partial index
    // memberships_org_exempt serve the filter (coalesce would hide that it implies NOT NULL).
    case 'exempt': return pg`m.exempt_until > ${at(now)}`
    case 'compliant': return pg`(not ${storedExempt(now)} and (${t.mode} is distinct from 'required' or ${allowedUnder(t)}))`
    case 'in_grace': return pg`(${storedOwes(now, t)} and ${deadlineUnder(t)} > ${at(now)})`
    case 'overdue': return pg`(${storedOwes(now, t)} and ${deadlineUnder(t)} <= ${at(now)})`
  }
}

/**
 * A read over ONE organization's members with its policies bound (`storedStatusIsUnder`): in one
 * read-only snapshot, so that the policies bound, the counts and the rows agree, and with each
 * statement planned for its values, as a cached generic plan could not fold the bound policies
 * into conditions on the facts index (decision 085).
 */
export function readUnderPolicies<T>(organizationId: string, read: (tx: TransactionSql, policies: RegionPolicyTerms[]) => Promise<T>) {
  return pg.begin('read only, isolation level repeatable read', async (tx) => {
    await tx`set local plan_cache_mode = force_custom_plan`
    return read(tx, await policiesOf(organizationId, tx))
  })
}

/** An organization's stored policies, one per region that has one (a handful of rows). */
export async function policiesOf(organizationId: string, tx: SqlTx = pg): Promise<RegionPolicyTerms[]> {
  return tx<RegionPolicyTerms[]>`
    select region, mode, allowed_methods as "allowedMethods", required_since as "requiredSince", grace_period_days as "gracePeriodDays"
    from region_policies where organization_id = ${organizationId} order by region`
}

/**
 * `storedStatusIs` for members of ONE organization whose policies are `policies`, without `p`: each
 * region's policy bound as values, and the default for regions without one. The same statuses as
 * the joined form (the read model's property test compares them), without a join per member.
 */
export function storedStatusIsUnder(status: Status, now: Date, policies: RegionPolicyTerms[]): Fragment {
  if (status === 'exempt') return storedStatusIs(status, now)
  const regions = policies.map((p) => p.region)
  const withoutPolicy = pg`(m.user_region <> all(${regions}::text[]) and ${storedStatusIs(status, now, boundPolicy(null))})`
  const branches = policies.reduce((acc, p) => pg`${acc} or (m.user_region = ${p.region} and ${storedStatusIs(status, now, boundPolicy(p))})`, withoutPolicy)
  return pg`(${branches})`
}

/** The status of `m` now under `p`: exempt, compliant (not Required, or an allowed factor), in grace, overdue. */
export const storedStatus = (now: Date, t = joinedPolicy) => pg`case
  when ${storedExempt(now)} then 'exempt'
  when ${t.mode} is distinct from 'required' or ${allowedUnder(t)} then 'compliant'
  when ${deadlineUnder(t)} > ${at(now)} then 'in_grace'
  else 'overdue' end`

/** `storedStatus` for members of ONE organization whose policies are `policies`, bound as in `storedStatusIsUnder`. */
export const storedStatusUnder = (now: Date, policies: RegionPolicyTerms[]) =>
  policies.reduce((others, p) => pg`case when m.user_region = ${p.region} then ${storedStatus(now, boundPolicy(p))} else ${others} end`, storedStatus(now, boundPolicy(null)))

/** The deadline shown beside a status: only for members who still owe a factor. */
export const storedPendingDeadline = (now: Date) => pg`case when ${storedOwes(now)} then ${storedDeadline} end`

/**
 * The same three inputs under a PROPOSED policy of `m`'s organization and region (the impact
 * preview), through the same expressions. Expects `m` only. Exemptions do not depend on the policy.
 */
export function proposedStatusInputs(now: Date, proposed: { allowedMethods: readonly string[]; requiredSince: Date; gracePeriodDays: number }) {
  const methods = pg`string_to_array(${proposed.allowedMethods.join(',')}::text, ',')`
  return {
    exempt: storedExempt(now),
    allowedFactor: pg`member_allowed_factor(${methods}, m.has_totp, m.has_key)`,
    deadline: pg`member_deadline('required', ${proposed.requiredSince.toISOString()}::timestamptz, ${proposed.gracePeriodDays}::int, m.joined_at, m.extension_deadline)`,
  }
}

export const hasTotp = pg`exists (select 1 from totp_factors t where t.user_id = u.id and t.confirmed_at is not null)`
export const hasKey = pg`exists (select 1 from webauthn_credentials w where w.user_id = u.id)`

export const isExempt = (now: Date) => pg`(u.kind = 'service' and exists (
  select 1 from exemptions e where e.organization_id = m.organization_id and e.user_id = m.user_id and e.region = u.region
    and (e.expires_at is null or e.expires_at > ${now.toISOString()}::timestamptz)))`

/** Does the member hold a factor the policy `p` allows (email counts wherever allowed)? */
export const hasAllowedFactor = pg`('email' = any(p.allowed_methods)
  or ('totp' = any(p.allowed_methods) and exists (select 1 from totp_factors t where t.user_id = u.id and t.confirmed_at is not null))
  or ('webauthn' = any(p.allowed_methods) and exists (select 1 from webauthn_credentials w where w.user_id = u.id)))`

/**
 * The deadline: max(required_since, joined_at) + grace days, or the member's extension when that is
 * later (`greatest` skips a NULL, so no extension means the computed deadline). Mirrors
 * `membershipDeadline` in effective-policy.ts: an extension never shortens a deadline.
 */
export const deadlineExpr = pg`greatest(
  (select x.deadline from deadline_extensions x where x.organization_id = m.organization_id and x.user_id = m.user_id and x.region = u.region),
  greatest(coalesce(p.required_since, m.joined_at), m.joined_at) + make_interval(days => p.grace_period_days))`

/** A member's status from its three inputs, for the correlated (`statusExpr`) and joined (`joinedStatus`) forms. */
const statusCase = (now: Date, exempt: Fragment, allowed: Fragment, deadline: Fragment) => pg`case
  when ${exempt} then 'exempt'
  when p.mode is distinct from 'required' then 'compliant'
  when ${allowed} then 'compliant'
  when ${deadline} > ${now.toISOString()}::timestamptz then 'in_grace'
  else 'overdue' end`

/** The deadline shown beside a status: only for members who still owe a factor. */
const pendingCase = (exempt: Fragment, allowed: Fragment, deadline: Fragment) => pg`case
  when p.mode = 'required' and not ${exempt} and not ${allowed} then ${deadline} end`

export const statusExpr = (now: Date) => statusCase(now, isExempt(now), hasAllowedFactor, deadlineExpr)
export const pendingDeadlineExpr = (now: Date) => pendingCase(isExempt(now), hasAllowedFactor, deadlineExpr)

/** Raw queries through the shared client return timestamps as strings (drizzle's setting): parse here. */
export function asDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null
  return v instanceof Date ? v : new Date(String(v))
}

/**
 * The same status over a whole organization, by joins instead of per-row subqueries, so that
 * PostgreSQL can hash-join 100,000 members at once (the members page, the overview). Expects `m`,
 * `u`, `p` as above; adds `t` (confirmed app), `w` (has a key), `e` (exemption), `x` (extension).
 */
export const factorJoins = pg`
  left join totp_factors t on t.user_id = u.id and t.confirmed_at is not null
  left join (select distinct user_id from webauthn_credentials) w on w.user_id = u.id
  left join exemptions e on e.organization_id = m.organization_id and e.user_id = m.user_id and e.region = u.region
  left join deadline_extensions x on x.organization_id = m.organization_id and x.user_id = m.user_id and x.region = u.region`

/** `deadlineExpr` over the joined extension `x`: the later of the extension and the computed deadline. */
export const joinedDeadline = pg`greatest(x.deadline, greatest(coalesce(p.required_since, m.joined_at), m.joined_at) + make_interval(days => p.grace_period_days))`
export const joinedExempt = (now: Date) => pg`(u.kind = 'service' and e.id is not null and (e.expires_at is null or e.expires_at > ${now.toISOString()}::timestamptz))`
export const joinedAllowed = pg`('email' = any(p.allowed_methods) or ('totp' = any(p.allowed_methods) and t.id is not null) or ('webauthn' = any(p.allowed_methods) and w.user_id is not null))`

export const joinedStatus = (now: Date) => statusCase(now, joinedExempt(now), joinedAllowed, joinedDeadline)
export const joinedPendingDeadline = (now: Date) => pendingCase(joinedExempt(now), joinedAllowed, joinedDeadline)

// One member's policy input, for the pure `effectivePolicy` (sign-in, enrollment, live sessions).

export type UserRow = { kind: 'human' | 'service'; platform_role: 'none' | 'support' | 'superadmin'; region: string; has_totp: boolean; has_key: boolean }
export type MembershipRow = {
  organization_id: string; organization_name: string; joined_at: Date; mode: Mode; allowed_methods: string[]; grace_period_days: number
  on_deadline: DeadlineAction; remember_device_days: number; required_since: Date | null; exemption_expires_at: Date | null; exempt: boolean
  extension: Date | null; contacts: string[] | null
}

/**
 * One member's memberships as `effectivePolicy` reads them, for the member `userId` in `region`
 * (values or columns of an outer query: the sign-in loads them in its one query, decision 068).
 * Only organizations that operate in the member's region (have a policy row there) count.
 */
export const membershipRowsOf = (userId: Fragment | string, region: Fragment | string) => pg`
    select o.id as organization_id, o.name as organization_name, m.joined_at, p.mode, p.allowed_methods, p.grace_period_days,
      p.on_deadline, p.remember_device_days, p.required_since,
      e.id is not null as exempt, e.expires_at as exemption_expires_at, x.deadline as extension,
      (select array_agg(cu.email order by cm.role, cu.email) from (
         select cm.user_id, cm.role from memberships cm where cm.organization_id = o.id and cm.role in ('owner', 'admin')
         order by cm.role limit 3) cm join users cu on cu.id = cm.user_id) as contacts
    from memberships m
    join organizations o on o.id = m.organization_id
    join region_policies p on p.organization_id = m.organization_id and p.region = ${region}
    left join exemptions e on e.organization_id = m.organization_id and e.user_id = m.user_id and e.region = ${region}
    left join deadline_extensions x on x.organization_id = m.organization_id and x.user_id = m.user_id and x.region = ${region}
    where m.user_id = ${userId}`

/** The plain input of `effectivePolicy` for one user (two queries), or null for an unknown user. */
export async function loadPolicyInput(userId: string, now = new Date()): Promise<PolicyInput | null> {
  const [user] = await pg<UserRow[]>`
    select u.kind, u.platform_role, u.region,
      exists (select 1 from totp_factors t where t.user_id = u.id and t.confirmed_at is not null) as has_totp,
      exists (select 1 from webauthn_credentials w where w.user_id = u.id) as has_key
    from users u where u.id = ${userId}`
  if (!user) return null
  const rows = await pg<MembershipRow[]>`${membershipRowsOf(userId, user.region)}`
  return policyInputFrom(user, rows, now)
}

/** `effectivePolicy`'s input from the member's row and `membershipRowsOf` (rows as they come, or as JSON). */
export function policyInputFrom(user: UserRow, rows: MembershipRow[], now: Date): PolicyInput {
  const enrolled: Method[] = [...(user.has_totp ? (['totp'] as const) : []), ...(user.has_key ? (['webauthn'] as const) : [])]
  return {
    user: { kind: user.kind, platformRole: user.platform_role },
    memberships: rows.map((r) => ({
      organizationId: r.organization_id, organizationName: r.organization_name, joinedAt: asDate(r.joined_at)!, mode: r.mode,
      allowedMethods: r.allowed_methods, gracePeriodDays: r.grace_period_days, onDeadline: r.on_deadline,
      rememberDeviceDays: r.remember_device_days, requiredSince: asDate(r.required_since), contacts: r.contacts ?? [],
    })),
    exemptions: rows.filter((r) => r.exempt).map((r) => ({ organizationId: r.organization_id, expiresAt: asDate(r.exemption_expires_at) })),
    extensions: rows.filter((r) => r.extension).map((r) => ({ organizationId: r.organization_id, deadline: asDate(r.extension)! })),
    enrolled,
    now,
  }
}

/**
 * The effective policy of this user now, with what sign-in must do (`signIn`): 'none' |
 * 'second_factor' | 'grace_prompt' | 'enroll_only' | 'blocked'. Decided at request time from the
 * source tables, so a stopped worker never weakens it; lapsed exemptions count from `now`.
 * An unknown user gets 'blocked' with no contacts, so a caller bug never opens an account.
 */
export async function loadEffectivePolicy(userId: string, now = new Date()): Promise<PolicyDecision> {
  const input = await loadPolicyInput(userId, now)
  if (!input) {
    return { mode: 'required', allowedMethods: [], rememberDeviceDays: 0, deadline: null, deadlineAction: 'block', status: 'overdue', hasAllowedFactor: false, pendingOrganizations: [], signIn: { kind: 'blocked', organizations: [], contacts: [] } }
  }
  return effectivePolicy(input)
}
