/**
 * The status of a member under ONE organization's policy, in SQL: the members table, the overview
 * chart, the impact preview and the sweep filter and count in the database (an organization may have
 * 100,000 members), never in JS over all rows. Mirrors `orgStatus` in effective-policy.ts; the
 * integration tests check the two agree.
 *
 * Expects, in the surrounding query: `m` memberships, `u` users, `p` region_policies (left joined on
 * organization and the member's region; a missing row reads as the default, optional).
 * Every subquery hits an index: totp_factors.user_id (unique), webauthn_credentials_user,
 * exemptions_org_user_region, deadline_extensions_org_user_region.
 */
import { sql as pg } from '#db/client.ts'

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

export const statusExpr = (now: Date) => pg`case
  when ${isExempt(now)} then 'exempt'
  when p.mode is distinct from 'required' then 'compliant'
  when ${hasAllowedFactor} then 'compliant'
  when ${deadlineExpr} > ${now.toISOString()}::timestamptz then 'in_grace'
  else 'overdue' end`

/** The deadline shown beside a status: only for members who still owe a factor. */
export const pendingDeadlineExpr = (now: Date) => pg`case
  when p.mode = 'required' and not ${isExempt(now)} and not ${hasAllowedFactor} then ${deadlineExpr} end`

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
const joinedExempt = (now: Date) => pg`(u.kind = 'service' and e.id is not null and (e.expires_at is null or e.expires_at > ${now.toISOString()}::timestamptz))`
const joinedAllowed = pg`('email' = any(p.allowed_methods) or ('totp' = any(p.allowed_methods) and t.id is not null) or ('webauthn' = any(p.allowed_methods) and w.user_id is not null))`

export const joinedStatus = (now: Date) => pg`case
  when ${joinedExempt(now)} then 'exempt'
  when p.mode is distinct from 'required' then 'compliant'
  when ${joinedAllowed} then 'compliant'
  when ${joinedDeadline} > ${now.toISOString()}::timestamptz then 'in_grace'
  else 'overdue' end`

export const joinedPendingDeadline = (now: Date) => pg`case
  when p.mode = 'required' and not ${joinedExempt(now)} and not ${joinedAllowed} then ${joinedDeadline} end`
