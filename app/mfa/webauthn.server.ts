/**
 * Security keys and passkeys (WebAuthn) as a second factor. Challenges are verification rows
 * (purpose webauthn_register / webauthn_login), bound to who asked for them (`target`: a pending
 * sign-in, a session) and consumed once. rpID and origin come from the member's region.
 * Second-factor keys ask for user verification as 'preferred' and do not require it (a plain
 * YubiKey has no PIN set); a challenge created with 'required' is enforced by the server itself,
 * whatever the browser did with the options.
 *
 * Passkeys (decision 069) are credentials registered as kind 'passkey': a resident key with user
 * verification required, at registration and at every sign-in. Their sign-in challenge
 * (purpose passkey_login) names no account: it is bound to the region it was made for
 * (`passkey:<region>`), whose rpID and origin the answer is checked against, and the account is the
 * one that owns the credential, which must be of that region.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { and, eq, sql } from 'drizzle-orm'
import { config, type Region } from '#app/config/env.server.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { consumeVerification, createVerification, findLive } from '#app/auth/verification.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import type { KeyKind } from './methods.schema.ts'

export const WEBAUTHN_CHALLENGE_SECONDS = 5 * 60
export { KEY_LABEL_MAX } from './methods.schema.ts'

type Transport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb'
const w = schema.webauthnCredentials

export type WebAuthnError = 'expired_challenge' | 'not_verified' | 'already_registered' | 'unknown_key' | 'counter_regressed' | 'user_verification_required' | 'not_a_passkey'

export const WEBAUTHN_MESSAGES: Record<WebAuthnError, string> = {
  expired_challenge: 'This security key request has expired. Try again.',
  not_verified: 'The security key response could not be verified. Try again and touch your key.',
  already_registered: 'This security key is already registered',
  unknown_key: 'That security key is not registered to this account.',
  counter_regressed: 'This security key reported a signature counter lower than before, which can mean it was cloned. It was refused; contact support.',
  user_verification_required: 'This sign-in needs your key to verify you (PIN or fingerprint), and it did not.',
  not_a_passkey: 'That key was added as a second step, not as a passkey: sign in with your password, then use the key.',
}

/** The relying party of a region: its rpID and origin come from the configured region (`regions` for tests). */
export function relyingParty(region: string, regions: Region[] = config.regions) {
  const r = regions.find((x) => x.code === region) ?? regions[0]
  return { rpID: r.rpId, origin: r.origin, rpName: `Gatehouse (${r.code.toUpperCase()})` }
}

export async function listKeys(userId: string, tx: Tx = db) {
  return tx
    .select({ id: w.id, label: w.label, kind: sql<KeyKind>`${w.kind}`, createdAt: w.createdAt, lastUsedAt: w.lastUsedAt, credentialId: w.credentialId, transports: w.transports })
    .from(w)
    .where(eq(w.userId, userId))
    .orderBy(w.createdAt)
}

/**
 * Registration options for a new key; the challenge is stored for `target` (the session asking),
 * with the kind the member chose: a passkey must be a resident key and verify its user.
 */
export async function webauthnRegistrationOptions(user: User, target: string, kind: KeyKind = 'security_key') {
  const rp = relyingParty(user.region)
  const existing = await listKeys(user.id)
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: user.email,
    userDisplayName: user.name,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((k) => ({ id: k.credentialId, transports: (k.transports ?? undefined) as Transport[] | undefined })),
    authenticatorSelection: kind === 'passkey' ? { residentKey: 'required', userVerification: 'required' } : { residentKey: 'preferred', userVerification: 'preferred' },
  })
  const { verification } = await createVerification({
    purpose: 'webauthn_register',
    userId: user.id,
    target,
    payload: { challenge: options.challenge, rpID: rp.rpID, origin: rp.origin, kind },
    ttlSeconds: WEBAUTHN_CHALLENGE_SECONDS,
  })
  return { challengeId: verification.id, options }
}

export type RegisterResult = { ok: true; keyId: string; label: string; kind: KeyKind } | { ok: false; code: WebAuthnError }

/** Verifies a registration and stores the key. The caller runs factor bookkeeping in `tx`. */
export async function verifyWebauthnRegistration(
  user: User,
  input: { challengeId: string; target: string; response: RegistrationResponseJSON; label: string },
  tx: Tx,
): Promise<RegisterResult> {
  const challenge = await findLive(input.challengeId, 'webauthn_register', tx)
  if (!challenge || challenge.userId !== user.id || challenge.target !== input.target) return { ok: false, code: 'expired_challenge' }
  if (!(await consumeVerification(challenge.id, tx))) return { ok: false, code: 'expired_challenge' }
  const p = challenge.payload as { challenge: string; rpID: string; origin: string; kind?: KeyKind }
  // The kind is the one the challenge was made for, never what the answer claims.
  const kind: KeyKind = p.kind === 'passkey' ? 'passkey' : 'security_key'
  let verified
  try {
    verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: p.challenge,
      expectedOrigin: p.origin,
      expectedRPID: p.rpID,
      requireUserVerification: kind === 'passkey',
    })
  } catch (e) {
    if (/user could not be verified/i.test(e instanceof Error ? e.message : '')) return { ok: false, code: 'user_verification_required' }
    return { ok: false, code: 'not_verified' }
  }
  if (!verified.verified || !verified.registrationInfo) return { ok: false, code: 'not_verified' }
  const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo
  const [clash] = await tx.select({ id: w.id }).from(w).where(eq(w.credentialId, credential.id))
  if (clash) return { ok: false, code: 'already_registered' }
  const [row] = await tx
    .insert(w)
    .values({
      userId: user.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? null,
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
      label: input.label,
      kind,
    })
    .onConflictDoNothing()
    .returning({ id: w.id })
  if (!row) return { ok: false, code: 'already_registered' }
  return { ok: true, keyId: row.id, label: input.label, kind }
}

/** Authentication options over the member's keys (or the one key `onlyKeyId`); the challenge is bound to `target`. */
export async function webauthnAuthenticationOptions(user: User, target: string, userVerification: 'preferred' | 'required' = 'preferred', onlyKeyId?: string) {
  const rp = relyingParty(user.region)
  const keys = (await listKeys(user.id)).filter((k) => !onlyKeyId || k.id === onlyKeyId)
  if (keys.length === 0) return undefined
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    userVerification,
    allowCredentials: keys.map((k) => ({ id: k.credentialId, transports: (k.transports ?? undefined) as Transport[] | undefined })),
  })
  const { verification } = await createVerification({
    purpose: 'webauthn_login',
    userId: user.id,
    target,
    payload: { challenge: options.challenge, rpID: rp.rpID, origin: rp.origin, userVerification },
    ttlSeconds: WEBAUTHN_CHALLENGE_SECONDS,
  })
  return { challengeId: verification.id, options }
}

export type AuthenticateResult = { ok: true; keyId: string } | { ok: false; code: WebAuthnError }

/** The one-time challenge of a passkey sign-in in `region`: no account named, user verification required. */
export async function passkeyAuthenticationOptions(region: string) {
  const rp = relyingParty(region)
  // An empty allow-list: the authenticator offers the passkeys it holds for this rpID (discoverable credentials).
  const options = await generateAuthenticationOptions({ rpID: rp.rpID, userVerification: 'required', allowCredentials: [] })
  const { verification } = await createVerification({
    purpose: 'passkey_login',
    target: passkeyTarget(region),
    payload: { challenge: options.challenge, rpID: rp.rpID, origin: rp.origin, region, userVerification: 'required' },
    ttlSeconds: WEBAUTHN_CHALLENGE_SECONDS,
    maxAttempts: 1,
  })
  return { challengeId: verification.id, options }
}

export const passkeyTarget = (region: string) => `passkey:${region}`

/** The region a live passkey challenge was made for, or undefined when it is unknown, used or expired. */
export async function passkeyChallengeRegion(challengeId: string): Promise<string | undefined> {
  const challenge = await findLive(challengeId, 'passkey_login')
  return (challenge?.payload as { region?: string } | undefined)?.region
}

/**
 * The account a passkey answer names: the owner of the credential, when it is a passkey and the
 * answer's user handle (when sent) is that account's. Read-only; the assertion is checked after.
 */
export async function findPasskeyOwner(response: AuthenticationResponseJSON) {
  const credentialId = typeof response?.id === 'string' && response.id.length <= 1400 ? response.id : ''
  if (!credentialId) return undefined
  const [row] = await db.select({ userId: w.userId, kind: w.kind }).from(w).where(eq(w.credentialId, credentialId))
  if (!row) return undefined
  const handle = response.response?.userHandle
  if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== row.userId) return undefined
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, row.userId))
  return user ? { user, kind: row.kind as KeyKind } : undefined
}

/**
 * Verifies an assertion for `target`'s challenge: a second step's (purpose webauthn_login, made for
 * this account) or a passkey sign-in's (purpose passkey_login, made for the account's region; only a
 * passkey answers it, always with user verification). A counter that goes backwards is refused and
 * recorded; a response from a key of another account is refused as unknown.
 */
export async function verifyWebauthnAuthentication(
  user: User,
  input: { challengeId: string; target: string; response: AuthenticationResponseJSON; passkey?: boolean },
  meta: RequestMeta,
): Promise<AuthenticateResult> {
  const challenge = await findLive(input.challengeId, input.passkey ? 'passkey_login' : 'webauthn_login')
  if (!challenge || challenge.userId !== (input.passkey ? null : user.id) || challenge.target !== input.target) return { ok: false, code: 'expired_challenge' }
  if (!(await consumeVerification(challenge.id))) return { ok: false, code: 'expired_challenge' }
  const p = challenge.payload as { challenge: string; rpID: string; origin: string; userVerification?: string }
  const [key] = await db.select().from(w).where(and(eq(w.userId, user.id), eq(w.credentialId, String(input.response.id ?? ''))))
  if (!key) return { ok: false, code: 'unknown_key' }
  if (input.passkey && key.kind !== 'passkey') return { ok: false, code: 'not_a_passkey' }
  let verified
  try {
    verified = await verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge: p.challenge,
      expectedOrigin: p.origin,
      expectedRPID: p.rpID,
      credential: { id: key.credentialId, publicKey: new Uint8Array(Buffer.from(key.publicKey, 'base64url')), counter: key.counter },
      requireUserVerification: input.passkey || p.userVerification === 'required',
    })
  } catch (e) {
    const message = e instanceof Error ? e.message : ''
    if (/counter value/i.test(message)) {
      await recordAudit({ action: 'auth.webauthn_counter_regressed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { keyId: key.id, label: key.label, storedCounter: key.counter } })
      return { ok: false, code: 'counter_regressed' }
    }
    if (/user could not be verified/i.test(message)) return { ok: false, code: 'user_verification_required' }
    return { ok: false, code: 'not_verified' }
  }
  if (!verified.verified) return { ok: false, code: 'not_verified' }
  // Conditional on the counter we read: a concurrent use of the same assertion cannot both move it.
  const [won] = await db
    .update(w)
    .set({ counter: verified.authenticationInfo.newCounter, lastUsedAt: sql`now()` })
    .where(and(eq(w.id, key.id), eq(w.counter, key.counter)))
    .returning({ id: w.id })
  if (!won) return { ok: false, code: 'not_verified' }
  return { ok: true, keyId: key.id }
}

/** Renames one of the member's keys; returns the old and new labels, or undefined when the key is not theirs. */
export async function updateKeyLabel(userId: string, keyId: string, label: string, tx: Tx) {
  const [old] = await tx.select({ label: w.label }).from(w).where(and(eq(w.userId, userId), eq(w.id, keyId))).for('update')
  if (!old) return undefined
  await tx.update(w).set({ label }).where(and(eq(w.userId, userId), eq(w.id, keyId)))
  return { old: old.label, new: label }
}

export async function deleteKey(userId: string, keyId: string, tx: Tx = db) {
  const [row] = await tx.delete(w).where(and(eq(w.userId, userId), eq(w.id, keyId))).returning({ id: w.id, label: w.label })
  return row
}
