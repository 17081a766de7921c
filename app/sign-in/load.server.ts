/**
 * Everything a password sign-in decides from, in ONE query (decision 068): the member's row, their
 * factors, what their effective policy needs (`membershipRowsOf`, the same SQL as
 * `loadPolicyInput`) and the trusted device this browser presented. Read from the source tables,
 * so enforcement never trusts a maintained copy; the decision itself stays the pure decide.ts.
 */
import { getTableColumns } from 'drizzle-orm'
import type { PendingQuery } from 'postgres'
import type { User } from '#app/auth/session.server.ts'
import { keyedHashes } from '#app/auth/crypto.server.ts'
import type { Factors } from '#app/mfa/factors.server.ts'
import type { KeyKind } from '#app/mfa/methods.schema.ts'
import { effectivePolicy, type PolicyDecision } from '#app/policy/effective-policy.ts'
import { asDate, membershipRowsOf, policyInputFrom, type MembershipRow } from '#app/policy/member-status.server.ts'
import { ssoRouteOf, type SsoRoute } from '#app/sso/config.server.ts'
import { schema, sql as pg } from '#db/client.ts'
import type { TrustedDevice } from './decide.ts'

export type SignInContext = { user: User; factors: Factors; policy: PolicyDecision; device: (TrustedDevice & { id: string }) | null }

type Row = Record<string, unknown> & {
  totp: { confirmedAt: string; lastUsedAt: string | null } | null
  keys: { id: string; label: string; createdAt: string; lastUsedAt: string | null; kind: KeyKind }[]
  recovery_codes_left: number
  memberships: MembershipRow[]
  device: { id: string; method: TrustedDevice['method']; createdAt: string } | null
}

/** The member by region and email or by id (after an invitation or SSO), or null when there is none. */
export async function loadSignInContext(who: { region: string; email: string } | { id: string }, deviceToken?: string, now = new Date()): Promise<SignInContext | null> {
  const where = 'id' in who ? pg`u.id = ${who.id}` : pg`u.region = ${who.region} and u.email = ${who.email}`
  const [row] = await pg<Row[]>`${memberSelect(deviceToken)} where ${where}`
  return row ? contextFromRow(row, now) : null
}

/**
 * The password step's one query: the member (or null) and where the address's domain signs in
 * through SSO (or null), which must be known whether or not the account exists (decision 080).
 */
export async function loadPasswordStep(who: { region: string; email: string }, deviceToken?: string, now = new Date()): Promise<{ context: SignInContext | null; ssoRoute: SsoRoute | null }> {
  const [row] = await pg<(Partial<Row> & { sso_route: SsoRoute | null })[]>`
    select r.sso_route, m.* from (select ${ssoRouteOf(who.email)} as sso_route) r
    left join lateral (${memberSelect(deviceToken)} where u.region = ${who.region} and u.email = ${who.email}) m on true`
  return { context: row?.id ? contextFromRow(row as Row, now) : null, ssoRoute: row?.sso_route ?? null }
}

function memberSelect(deviceToken: string | undefined) {
  // Same rule as findTrustedDevice: any key of the hash ring matches (decision 062).
  const hashes = deviceToken && deviceToken.length <= 100 ? keyedHashes('trusted-device', deviceToken) : []
  return pg`
    select u.*,
      (select json_build_object('confirmedAt', t.confirmed_at, 'lastUsedAt', t.last_used_at)
         from totp_factors t where t.user_id = u.id and t.confirmed_at is not null) as totp,
      (select coalesce(json_agg(json_build_object('id', w.id, 'label', w.label, 'createdAt', w.created_at, 'lastUsedAt', w.last_used_at, 'kind', w.kind) order by w.created_at), '[]')
         from webauthn_credentials w where w.user_id = u.id) as keys,
      (select count(*)::int from recovery_codes r where r.user_id = u.id and r.used_at is null) as recovery_codes_left,
      (select coalesce(json_agg(ms), '[]') from (${membershipRowsOf(pg`u.id`, pg`u.region`) as PendingQuery<any>}) ms) as memberships,
      (select json_build_object('id', d.id, 'method', d.method, 'createdAt', d.created_at) from trusted_devices d
         where d.token_hash = any(${hashes}::text[]) and d.user_id = u.id and d.expires_at > now() limit 1) as device
    from users u`
}

function contextFromRow(row: Row, now: Date): SignInContext {
  const user = userFromRow(row)
  const factors: Factors = {
    totp: row.totp ? { confirmedAt: asDate(row.totp.confirmedAt)!, lastUsedAt: asDate(row.totp.lastUsedAt) } : null,
    keys: row.keys.map((k) => ({ id: k.id, label: k.label, createdAt: asDate(k.createdAt)!, lastUsedAt: asDate(k.lastUsedAt), kind: k.kind })),
    recoveryCodesLeft: row.recovery_codes_left,
  }
  const policyUser = { kind: user.kind, platform_role: user.platformRole, region: user.region, has_totp: Boolean(factors.totp), has_key: factors.keys.length > 0 }
  const policy = effectivePolicy(policyInputFrom(policyUser, row.memberships, now))
  const device = row.device ? { id: row.device.id, method: row.device.method, createdAt: asDate(row.device.createdAt)! } : null
  return { user, factors, policy, device }
}

const userColumns = Object.entries(getTableColumns(schema.users))

/** A raw `users` row as drizzle would return it (camelCase keys, each column's own mapping). */
function userFromRow(row: Record<string, unknown>): User {
  const user: Record<string, unknown> = {}
  for (const [key, column] of userColumns) {
    const value = row[column.name]
    user[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
  }
  return user as User
}
