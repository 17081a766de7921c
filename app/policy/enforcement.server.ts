/**
 * Enforcement at request time: loads the plain data the pure policy function needs, from the
 * database, and decides. Nothing here depends on a worker having run (a stopped worker never
 * weakens enforcement): deadlines and lapsed exemptions are computed from `now`.
 */
import { sql as pg } from '#db/client.ts'
import { asDate } from './member-status.server.ts'
import { effectivePolicy, type DeadlineAction, type Method, type Mode, type PolicyDecision, type PolicyInput } from './effective-policy.ts'

type UserRow = { kind: 'human' | 'service'; platform_role: 'none' | 'support' | 'superadmin'; region: string; has_totp: boolean; has_key: boolean }
type MembershipRow = {
  organization_id: string; organization_name: string; joined_at: Date; mode: Mode; allowed_methods: string[]; grace_period_days: number
  on_deadline: DeadlineAction; remember_device_days: number; required_since: Date | null; exemption_expires_at: Date | null; exempt: boolean
  extension: Date | null; contacts: string[] | null
}

/** The plain input of `effectivePolicy` for one user (two queries), or null for an unknown user. */
export async function loadPolicyInput(userId: string, now = new Date()): Promise<PolicyInput | null> {
  const [user] = await pg<UserRow[]>`
    select u.kind, u.platform_role, u.region,
      exists (select 1 from totp_factors t where t.user_id = u.id and t.confirmed_at is not null) as has_totp,
      exists (select 1 from webauthn_credentials w where w.user_id = u.id) as has_key
    from users u where u.id = ${userId}`
  if (!user) return null
  // Only organizations that operate in the member's region (have a policy row there) count.
  const rows = await pg<MembershipRow[]>`
    select o.id as organization_id, o.name as organization_name, m.joined_at, p.mode, p.allowed_methods, p.grace_period_days,
      p.on_deadline, p.remember_device_days, p.required_since,
      e.id is not null as exempt, e.expires_at as exemption_expires_at, x.deadline as extension,
      (select array_agg(cu.email order by cm.role, cu.email) from (
         select cm.user_id, cm.role from memberships cm where cm.organization_id = o.id and cm.role in ('owner', 'admin')
         order by cm.role limit 3) cm join users cu on cu.id = cm.user_id) as contacts
    from memberships m
    join organizations o on o.id = m.organization_id
    join region_policies p on p.organization_id = m.organization_id and p.region = ${user.region}
    left join exemptions e on e.organization_id = m.organization_id and e.user_id = m.user_id and e.region = ${user.region}
    left join deadline_extensions x on x.organization_id = m.organization_id and x.user_id = m.user_id and x.region = ${user.region}
    where m.user_id = ${userId}`
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
 * What sign-in must do for this user now (call after the password is accepted):
 * 'none' | 'second_factor' (methods to offer) | 'grace_prompt' | 'enroll_only' | 'blocked'.
 * An unknown user gets 'blocked' with no contacts, so a caller bug never opens an account.
 */
export async function loadSignInDecision(userId: string, now = new Date()): Promise<PolicyDecision> {
  const input = await loadPolicyInput(userId, now)
  if (!input) {
    return { mode: 'required', allowedMethods: [], rememberDeviceDays: 0, deadline: null, deadlineAction: 'block', status: 'overdue', hasAllowedFactor: false, pendingOrganizations: [], signIn: { kind: 'blocked', organizations: [], contacts: [] } }
  }
  return effectivePolicy(input)
}
