/**
 * Organization API keys: issued by an owner or admin to one of the organization's service
 * accounts, shown once, stored as a keyed hash with a visible prefix, limited to the scopes
 * chosen at issue, revocable, audited. A key acts only inside its organization.
 */
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { keyedHash, keyedHashes, randomToken } from '#app/auth/crypto.server.ts'
import { DomainError } from '#app/errors.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import type { OrgScope, Organization } from './scope.server.ts'

import { API_SCOPES, type ApiScope } from './api-keys.schema.ts'

export { API_SCOPES, type ApiScope }
/** Scopes that change data: issuing a key with one needs the issuer's fresh second factor. */
export const WRITE_SCOPES: readonly ApiScope[] = ['policy:write']
export const SCOPE_LABELS: Record<ApiScope, string> = {
  'policy:read': 'Read MFA policy and exemptions',
  'policy:write': 'Change MFA policy and exemptions',
  'members:read': 'List members and their 2FA status',
  'audit:read': 'Read the audit log',
}

/** Step-up: a second factor within the last five minutes (decision 042). */

/** Every key starts with this, so a leaked key is recognisable (and secret scanners can match it). */
export const API_KEY_PREFIX = 'ghk_'
const VISIBLE_CHARS = API_KEY_PREFIX.length + 8
const hashKey = (key: string) => keyedHash('api_key', key)

export type ApiKey = typeof schema.apiKeys.$inferSelect

/** Runs `fn` in the caller's transaction, or in a new one when given the database itself. */
function inTransaction<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return tx === db ? db.transaction((t) => fn(t)) : fn(tx)
}

/** The organization's service accounts: the only accounts a key can be issued for. */
export async function listServiceAccounts(scope: OrgScope, tx: Tx = db) {
  const m = schema.memberships
  const u = schema.users
  return tx
    .select({ id: u.id, email: u.email, name: u.name, region: u.region })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, eq(u.kind, 'service')))
    .orderBy(asc(u.email))
}

export async function listApiKeys(scope: OrgScope, tx: Tx = db) {
  const k = schema.apiKeys
  const u = schema.users
  return tx
    .select({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      scopes: k.scopes,
      serviceAccount: { id: u.id, email: u.email },
      createdAt: k.createdAt,
      lastUsedAt: k.lastUsedAt,
      revokedAt: k.revokedAt,
    })
    .from(k)
    .innerJoin(u, eq(u.id, k.userId))
    .where(scope.where(k.organizationId))
    .orderBy(desc(k.createdAt))
}

/** Issues a key; the returned `key` is the only time it exists in clear. */
export async function issueApiKey(
  input: {
    org: Pick<Organization, 'id'>
    scope: OrgScope
    issuer: {
      user: Pick<User, 'id' | 'email'>
      session: Pick<Session, 'secondFactorAt'>
    }
    serviceAccountId: string
    name: string
    scopes: ApiScope[]
    meta: RequestMeta
  },
  outer: Tx = db
) {
  return inTransaction(outer, async (tx) => {
    const scopes = [...new Set(input.scopes)].sort()
    if (scopes.some((s) => WRITE_SCOPES.includes(s as ApiScope)) && !hasFreshSecondFactor(input.issuer.session)) {
      throw new DomainError(
        'step_up_required',
        'Issuing a key that can change policy needs a fresh second factor. Confirm it is you, then issue the key again.'
      )
    }
    const accounts = await listServiceAccounts(input.scope, tx)
    const account = accounts.find((a) => a.id === input.serviceAccountId)
    if (!account) throw new DomainError('invalid_request', 'Choose one of this organization’s service accounts.', 'serviceAccountId')
    const key = `${API_KEY_PREFIX}${randomToken(32)}`
    const [row] = await tx
      .insert(schema.apiKeys)
      .values({
        organizationId: input.scope.orgId,
        userId: account.id,
        name: input.name,
        tokenHash: hashKey(key),
        prefix: key.slice(0, VISIBLE_CHARS),
        scopes,
        createdBy: input.issuer.user.id,
      })
      .returning()
    await recordAudit(
      {
        action: 'org.api_key_issued',
        actor: { id: input.issuer.user.id, label: input.issuer.user.email },
        subjectId: account.id,
        organizationId: input.scope.orgId,
        meta: input.meta,
        details: {
          keyId: row.id,
          name: row.name,
          prefix: row.prefix,
          scopes,
          serviceAccount: account.email,
        },
      },
      tx
    )
    return { key, apiKey: row, serviceAccount: account }
  })
}

/** Revokes a live key of this organization; false when there is no such live key. */
export async function revokeApiKey(
  input: {
    scope: OrgScope
    keyId: string
    actor: Pick<User, 'id' | 'email'>
    meta: RequestMeta
  },
  outer: Tx = db
) {
  return inTransaction(outer, async (tx) => {
    const k = schema.apiKeys
    const [row] = await tx
      .update(k)
      .set({ revokedAt: sql`now()` })
      .where(input.scope.where(k.organizationId, eq(k.id, input.keyId), isNull(k.revokedAt)))
      .returning()
    if (!row) return null
    await recordAudit(
      {
        action: 'org.api_key_revoked',
        actor: { id: input.actor.id, label: input.actor.email },
        subjectId: row.userId,
        organizationId: input.scope.orgId,
        meta: input.meta,
        details: { keyId: row.id, name: row.name, prefix: row.prefix },
      },
      tx
    )
    return row
  })
}

/**
 * Finds the live key behind a bearer value and records its use, in one statement. The key's
 * service account must still belong to the organization: removing the account revokes its keys
 * in effect.
 */
export async function authenticateApiKey(key: string) {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 100) return null
  const k = schema.apiKeys
  const [row] = await db
    .update(k)
    // Matched under any key of the hash ring (so rotating it keeps keys working), and moved to the
    // current key on use, so an old hash key can be retired once the keys in use have been seen (decision 062).
    .set({ tokenHash: hashKey(key), lastUsedAt: sql`now()` })
    .where(and(inArray(k.tokenHash, keyedHashes('api_key', key)), isNull(k.revokedAt)))
    .returning()
  if (!row) return null
  const [found] = await db
    .select({ user: schema.users, org: schema.organizations })
    .from(schema.memberships)
    .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
    .innerJoin(schema.organizations, eq(schema.organizations.id, schema.memberships.organizationId))
    .where(and(eq(schema.memberships.userId, row.userId), eq(schema.memberships.organizationId, row.organizationId)))
  if (!found || found.user.kind !== 'service') return null
  return {
    apiKey: row,
    user: found.user,
    org: found.org,
    scopes: row.scopes as ApiScope[],
  }
}
