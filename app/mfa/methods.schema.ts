/**
 * Second-factor method ids and the words people see for them, written once (decision 065). No
 * `.server`: the browser bundle, the domain, the API and the CLI all read it.
 */
import { z } from 'zod'

/** The methods a region policy may allow (an email code is a factor every member already has). */
export const POLICY_METHODS = ['email', 'totp', 'webauthn'] as const
export type PolicyMethod = (typeof POLICY_METHODS)[number]

/** Every way to give a second factor: the policy's methods and a recovery code. */
export const SECOND_FACTOR_METHODS = [...POLICY_METHODS, 'recovery_code'] as const
export type SecondFactorMethod = (typeof SECOND_FACTOR_METHODS)[number]

export const METHOD_LABELS: Record<SecondFactorMethod, string> = {
  email: 'Email code',
  totp: 'Authenticator app',
  webauthn: 'Security key',
  recovery_code: 'Recovery code',
}

/** The label of a method id that may come from stored data: unknown ids show as they are. */
export const methodLabel = (m: string) => (METHOD_LABELS as Record<string, string>)[m] ?? m

export const policyMethodSchema = z.enum(POLICY_METHODS)
export const secondFactorMethodSchema = z.enum(SECOND_FACTOR_METHODS)

/** The longest name of a security key; the browser checks it too (the keys page, decision 073). */
export const KEY_LABEL_MAX = 60
export const keyLabel = z.string().trim().min(1, 'Name the key, e.g. "YubiKey 5"').max(KEY_LABEL_MAX, `Use at most ${KEY_LABEL_MAX} characters`)

/**
 * What a WebAuthn credential was registered as (decision 069): a security key is a second step after
 * the password; a passkey (a discoverable credential with user verification) signs in without one.
 */
export const KEY_KINDS = ['security_key', 'passkey'] as const
export type KeyKind = (typeof KEY_KINDS)[number]
export const keyKindSchema = z.enum(KEY_KINDS)

export const KEY_KIND_LABELS: Record<KeyKind, string> = {
  security_key: 'Security key (second step)',
  passkey: 'Passkey (signs in without a password)',
}
