/**
 * A member's factors as one picture, and the bookkeeping every add and remove goes through:
 * users.mfa_enabled_at ("2FA on" = at least one app or key) and preferred_method stay right;
 * the first app or key issues recovery codes; removing the last one turns 2FA off, deletes the
 * recovery codes and revokes trusted devices. Every change is audited and emailed to the member,
 * an added factor with a "this wasn't me" link that freezes the account.
 * Under a Required policy (and for staff), removing the member's last allowed factor is refused.
 * Every add, remove or new set of recovery codes ends the member's other sessions and API session
 * tokens in the same transaction, keeping only the session that made the change (decision 061).
 */
import { METHOD_LABELS, type KeyKind, type SecondFactorMethod } from './methods.schema.ts'
import { and, eq, isNotNull, sql } from 'drizzle-orm'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { endOtherSessions, hasFreshSecondFactor, type Session, type User } from '#app/auth/session.server.ts'
import { DomainError } from '#app/errors.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { countRecoveryCodes, deleteRecoveryCodes, generateRecoveryCodes, RECOVERY_LOW_WATERMARK } from './recovery-codes.server.ts'
import { revokeAllDevices } from './trusted-devices.server.ts'
import { deleteKey, listKeys, updateKeyLabel } from './webauthn.server.ts'
import { deleteTotp } from './totp.server.ts'
import { effectivePolicy, type PolicyDecision } from '#app/policy/effective-policy.ts'
import { loadPolicyInput } from '#app/policy/member-status.server.ts'

export type Method = SecondFactorMethod
export type Factors = {
  totp: { confirmedAt: Date; lastUsedAt: Date | null } | null
  /** `kind`: what the key was registered as (decision 069); absent where the caller does not need it. */
  keys: { id: string; label: string; createdAt: Date; lastUsedAt: Date | null; kind?: KeyKind }[]
  recoveryCodesLeft: number
}

export const METHOD_NAMES: Record<Method, string> = METHOD_LABELS

export const hasAppOrKey = (f: Factors) => Boolean(f.totp) || f.keys.length > 0

/**
 * Step-up accepts an app, a key or a recovery code; an email code only when the member has no app
 * or key (and then their backup codes too, decision 071).
 */
export function stepUpMethods(factors: Factors): Method[] {
  if (!hasAppOrKey(factors)) return factors.recoveryCodesLeft > 0 ? ['email', 'recovery_code'] : ['email']
  const methods: Method[] = []
  if (factors.totp) methods.push('totp')
  if (factors.keys.length) methods.push('webauthn')
  if (factors.recoveryCodesLeft > 0) methods.push('recovery_code')
  return methods
}

/**
 * Whether an action needs step-up now: members with no factor at all have nothing to step up with
 * (unless the action says `evenWithoutFactor`); backup codes of an email-only member are a factor
 * to guard (decision 071).
 */
export function needsStepUp(session: Parameters<typeof hasFreshSecondFactor>[0], factors: Factors, evenWithoutFactor = false): boolean {
  return (evenWithoutFactor || hasAppOrKey(factors) || factors.recoveryCodesLeft > 0) && !hasFreshSecondFactor(session)
}

/**
 * THE step-up guard: a sensitive change (removing a factor, new codes, adding a factor when one
 * exists, turning 2FA off) throws `step_up_required` unless this session passed a second factor in
 * the last 5 minutes. Each adapter maps it once: the web to the confirm page, the API to a 403.
 * Returns the member's factors, which the caller usually needs next.
 */
export async function requireStepUp(
  userId: string,
  session: Parameters<typeof hasFreshSecondFactor>[0],
  message = 'This change needs a second factor within the last 5 minutes.',
  options: { evenWithoutFactor?: boolean } = {},
): Promise<Factors> {
  const factors = await listFactors(userId)
  if (needsStepUp(session, factors, options.evenWithoutFactor)) throw new DomainError('step_up_required', message)
  return factors
}

export async function listFactors(userId: string, tx: Tx = db): Promise<Factors> {
  const [totp] = await tx
    .select({ confirmedAt: schema.totpFactors.confirmedAt, lastUsedAt: schema.totpFactors.lastUsedAt })
    .from(schema.totpFactors)
    .where(and(eq(schema.totpFactors.userId, userId), isNotNull(schema.totpFactors.confirmedAt)))
  const keys = (await listKeys(userId, tx)).map(({ id, label, createdAt, lastUsedAt, kind }) => ({ id, label, createdAt, lastUsedAt, kind }))
  return { totp: totp ? { confirmedAt: totp.confirmedAt!, lastUsedAt: totp.lastUsedAt } : null, keys, recoveryCodesLeft: await countRecoveryCodes(userId, tx) }
}

const actorOf = (user: Pick<User, 'id' | 'email'>) => ({ id: user.id, label: user.email })

/**
 * After an app or key was stored (inside the same transaction): turns 2FA on when it was off,
 * sets the preferred method when none, issues recovery codes with the first factor, audits, and
 * ends every session but `currentSessionId` (decision 061).
 * Returns the new recovery codes (shown once) or null when the member keeps their set.
 */
export async function afterFactorAdded(user: User, kind: 'totp' | 'webauthn', detail: Record<string, unknown>, meta: RequestMeta, tx: Tx, currentSessionId: string | null): Promise<string[] | null> {
  const [fresh] = await tx.select().from(schema.users).where(eq(schema.users.id, user.id))
  const first = !fresh.mfaEnabledAt
  await tx
    .update(schema.users)
    .set({ mfaEnabledAt: first ? sql`now()` : fresh.mfaEnabledAt, preferredMethod: fresh.preferredMethod && fresh.preferredMethod !== 'email' ? fresh.preferredMethod : kind })
    .where(eq(schema.users.id, user.id))
  await recordAudit({ action: kind === 'totp' ? 'auth.totp_enabled' : 'auth.webauthn_added', actor: actorOf(user), subjectId: user.id, meta, details: detail }, tx)
  let codes: string[] | null = null
  // The first app or key issues a set, unless the member already holds one (backup codes made
  // while email was their only factor, decision 071): that set is kept, as with a second factor.
  if ((await countRecoveryCodes(user.id, tx)) === 0) {
    codes = await generateRecoveryCodes(user.id, tx)
    await recordAudit({ action: 'auth.recovery_codes_generated', actor: actorOf(user), subjectId: user.id, meta, details: { count: codes.length, reason: 'first_factor' } }, tx)
  }
  await endOtherSessions({ user, keep: currentSessionId, reason: 'factor_added', meta }, tx)
  return codes
}

/** Emails the "factor added" notice with its freeze link (after the transaction commits). */
export async function noticeFactorAdded(user: User, kind: 'totp' | 'webauthn', label?: string) {
  const { verification } = await createVerification({ purpose: 'freeze', userId: user.id, ttlSeconds: 30 * 86_400, maxAttempts: 5, payload: { via: `${kind}_added_notice` } })
  await queueNotice({
    to: user.email,
    userId: user.id,
    template: 'factor_added',
    verificationId: verification.id,
    params: { region: user.region, factor: kind === 'totp' ? 'an authenticator app' : `the security key "${label ?? 'key'}"`, at: new Date().toISOString() },
  })
}

/**
 * After an app or key was removed (same transaction): ends every session but `currentSessionId`
 * (decision 061), and turns 2FA off when no app or key is left.
 */
async function afterFactorRemoved(user: User, meta: RequestMeta, tx: Tx, currentSessionId: string | null): Promise<{ mfaOff: boolean }> {
  await endOtherSessions({ user, keep: currentSessionId, reason: 'factor_removed', meta }, tx)
  const factors = await listFactors(user.id, tx)
  if (hasAppOrKey(factors)) {
    const preferred = factors.totp ? (user.preferredMethod === 'webauthn' && factors.keys.length ? 'webauthn' : 'totp') : 'webauthn'
    await tx.update(schema.users).set({ preferredMethod: preferred }).where(eq(schema.users.id, user.id))
    return { mfaOff: false }
  }
  await tx.update(schema.users).set({ mfaEnabledAt: null, preferredMethod: null }).where(eq(schema.users.id, user.id))
  await deleteRecoveryCodes(user.id, tx)
  await revokeAllDevices(user, meta, tx, 'mfa_off')
  return { mfaOff: true }
}

/** What a removal takes away: the app, one key, or everything (turning 2FA off). */
export type Removal = { kind: 'totp' } | { kind: 'key'; keyId: string } | { kind: 'all' }
export type RemoveResult = { ok: true; mfaOff: boolean; label?: string } | { ok: false; code: 'not_found' | 'required_by_policy'; message: string }

const LABELS: Record<string, string> = { totp: 'an authenticator app', webauthn: 'a security key' }

/** The apps and keys left after `removal` (all of them for `null`), as policy methods. */
function enrolledAfter(factors: Factors, removal: Removal | null): string[] {
  if (removal?.kind === 'all') return []
  const left: string[] = []
  if (factors.totp && removal?.kind !== 'totp') left.push('totp')
  if (factors.keys.some((k) => removal?.kind !== 'key' || k.id !== removal.keyId)) left.push('webauthn')
  return left
}

/**
 * Why the member may not make this removal, or null. Refused when their effective policy is
 * Required (or they are staff) and the removal would take away their last allowed factor; a
 * member who holds no allowed factor anyway, or keeps another, may remove it. Reads the factors
 * through `tx` so a caller holding the user's row lock sees the committed truth.
 */
export async function removalRefusal(userId: string, removal: Removal, tx: Tx = db): Promise<string | null> {
  const [input, factors] = await Promise.all([loadPolicyInput(userId), listFactors(userId, tx)])
  if (!input) return null
  const before = effectivePolicy({ ...input, enrolled: enrolledAfter(factors, null) })
  if (before.mode !== 'required' || before.status === 'exempt' || !before.hasAllowedFactor) return null
  const after = effectivePolicy({ ...input, enrolled: enrolledAfter(factors, removal) })
  if (after.hasAllowedFactor) return null
  return refusalMessage(after, input.user.platformRole !== 'none', removal.kind === 'all')
}

function refusalMessage(after: PolicyDecision, staff: boolean, turningOff: boolean): string {
  // Each sentence is written whole (not assembled from parts) so that the catalog can match it and
  // translate it on a Japanese or Korean page (app/i18n/locales/*/messages.json, decision 079).
  // Keys can always be added; a second app cannot (one per account), so under an app-only policy
  // moving phones is a replacement (the old app works until the new one is verified).
  if (staff) {
    return turningOff
      ? 'Two-factor authentication cannot be turned off: support and administrator accounts must keep an authenticator app or a security key.'
      : 'You cannot remove your last allowed sign-in method: support and administrator accounts must keep an authenticator app or a security key. Add another one first, then remove this one.'
  }
  const orgs = after.pendingOrganizations.join(' and ') || 'Your organization'
  const methods = after.allowedMethods.filter((m) => m !== 'email').map((m) => LABELS[m]).join(' or ') || 'an app or a key'
  if (turningOff) return `Two-factor authentication cannot be turned off: ${orgs} requires two-factor authentication with ${methods}.`
  if (after.allowedMethods.includes('webauthn')) return `You cannot remove your last allowed sign-in method: ${orgs} requires two-factor authentication with ${methods}. Add another one first, then remove this one.`
  return `You cannot remove your last allowed sign-in method: ${orgs} requires two-factor authentication with ${methods}. To move your authenticator app to a new phone, use "Replace authenticator app" instead.`
}

/** Serialises factor changes of one member, so two racing removals cannot both pass the policy check. */
async function lockUser(userId: string, tx: Tx) {
  await tx.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.id, userId)).for('update')
}

export async function removeTotp(user: User, meta: RequestMeta, currentSessionId: string | null): Promise<RemoveResult> {
  const result = await db.transaction(async (tx): Promise<RemoveResult> => {
    await lockUser(user.id, tx)
    const refused = await removalRefusal(user.id, { kind: 'totp' }, tx)
    if (refused) return { ok: false, code: 'required_by_policy', message: refused }
    if (!(await deleteTotp(user.id, tx))) return { ok: false, code: 'not_found', message: 'There is no authenticator app on this account.' }
    await recordAudit({ action: 'auth.totp_disabled', actor: actorOf(user), subjectId: user.id, meta }, tx)
    return { ok: true, ...(await afterFactorRemoved(user, meta, tx, currentSessionId)) }
  })
  if (result.ok) await noticeRemoved(user, 'your authenticator app', result.mfaOff)
  return result
}

export async function removeKey(user: User, keyId: string, meta: RequestMeta, currentSessionId: string | null): Promise<RemoveResult> {
  const result = await db.transaction(async (tx): Promise<RemoveResult> => {
    await lockUser(user.id, tx)
    const refused = await removalRefusal(user.id, { kind: 'key', keyId }, tx)
    if (refused) return { ok: false, code: 'required_by_policy', message: refused }
    const key = await deleteKey(user.id, keyId, tx)
    if (!key) return { ok: false, code: 'not_found', message: 'That key is not on this account.' }
    await recordAudit({ action: 'auth.webauthn_removed', actor: actorOf(user), subjectId: user.id, meta, details: { keyId, label: key.label } }, tx)
    return { ok: true, ...(await afterFactorRemoved(user, meta, tx, currentSessionId)), label: key.label }
  })
  if (result.ok) await noticeRemoved(user, `the security key "${result.label}"`, result.mfaOff)
  return result
}

/**
 * Renames one of the member's security keys, audited (auth.webauthn_renamed). A name is not a
 * protection, so no step-up: the key itself is unchanged.
 */
export async function renameKey(user: User, keyId: string, label: string, meta: RequestMeta): Promise<{ ok: true; label: string } | { ok: false; message: string }> {
  return db.transaction(async (tx) => {
    const renamed = await updateKeyLabel(user.id, keyId, label, tx)
    if (!renamed) return { ok: false as const, message: 'That key is not on this account.' }
    if (renamed.old !== renamed.new) await recordAudit({ action: 'auth.webauthn_renamed', actor: actorOf(user), subjectId: user.id, meta, details: { keyId, old: renamed.old, new: renamed.new } }, tx)
    return { ok: true as const, label }
  })
}

/** Turns 2FA off: every app and key goes, with the recovery codes and trusted devices. */
export async function turnOffMfa(user: User, meta: RequestMeta, currentSessionId: string | null): Promise<RemoveResult> {
  const result = await db.transaction(async (tx): Promise<RemoveResult> => {
    await lockUser(user.id, tx)
    const refused = await removalRefusal(user.id, { kind: 'all' }, tx)
    if (refused) return { ok: false, code: 'required_by_policy', message: refused }
    if (await deleteTotp(user.id, tx)) await recordAudit({ action: 'auth.totp_disabled', actor: actorOf(user), subjectId: user.id, meta, details: { reason: 'mfa_off' } }, tx)
    for (const key of await listKeys(user.id, tx)) {
      await deleteKey(user.id, key.id, tx)
      await recordAudit({ action: 'auth.webauthn_removed', actor: actorOf(user), subjectId: user.id, meta, details: { keyId: key.id, label: key.label, reason: 'mfa_off' } }, tx)
    }
    await afterFactorRemoved(user, meta, tx, currentSessionId)
    return { ok: true, mfaOff: true }
  })
  if (result.ok) await noticeRemoved(user, 'every authenticator app and security key', true)
  return result
}

async function noticeRemoved(user: User, what: string, mfaOff: boolean) {
  await queueNotice({ to: user.email, userId: user.id, template: mfaOff ? 'mfa_disabled' : 'factor_removed', params: { what, at: new Date().toISOString() } })
}

/**
 * Who may hold recovery codes: a member with an app or key (they back it up), or a member whose
 * only factor is email (backup codes, reference page 004; decision 071). Staff always need an app
 * or key, so email-only staff get none.
 */
export function mayHoldRecoveryCodes(user: Pick<User, 'platformRole'>, factors: Factors): boolean {
  return hasAppOrKey(factors) || user.platformRole === 'none'
}

/** A new set replaces a factor (the old codes): like adding one, it ends the other sessions (decision 061). */
export async function regenerateRecoveryCodes(user: User, meta: RequestMeta, currentSessionId: string | null): Promise<string[]> {
  const codes = await db.transaction(async (tx) => {
    const codes = await generateRecoveryCodes(user.id, tx)
    await recordAudit({ action: 'auth.recovery_codes_generated', actor: actorOf(user), subjectId: user.id, meta, details: { count: codes.length, reason: 'regenerated' } }, tx)
    await endOtherSessions({ user, keep: currentSessionId, reason: 'recovery_codes_regenerated', meta }, tx)
    return codes
  })
  await queueNotice({ to: user.email, userId: user.id, template: 'recovery_codes_regenerated', params: { at: new Date().toISOString() } })
  return codes
}

/** After a recovery code was used: the notice, and a warning when few remain. */
export async function noticeRecoveryCodeUsed(user: User, remaining: number) {
  await queueNotice({ to: user.email, userId: user.id, template: 'recovery_code_used', params: { remaining, low: remaining <= RECOVERY_LOW_WATERMARK, at: new Date().toISOString() } })
}

export async function setPreferredMethod(user: User, method: 'totp' | 'webauthn' | 'email') {
  const factors = await listFactors(user.id)
  if (method === 'totp' && !factors.totp) return false
  if (method === 'webauthn' && factors.keys.length === 0) return false
  await db.update(schema.users).set({ preferredMethod: method }).where(eq(schema.users.id, user.id))
  return true
}

