/**
 * "Test this key" (reference page 002, decision 071): one WebAuthn assertion ceremony with one of
 * the member's own keys, to learn whether it works before it is needed. The challenge is bound to
 * this session and this key, single-use and short-lived (the one verification engine, through
 * webauthn.server.ts); a good answer moves the key's counter and last-used time like any use. It
 * proves nothing else: no step-up, no sign-in, nothing recorded as a second factor.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { listKeys, verifyWebauthnAuthentication, webauthnAuthenticationOptions, WEBAUTHN_MESSAGES } from './webauthn.server.ts'

const target = (session: Pick<Session, 'id'>, keyId: string) => `key_test:${session.id}:${keyId}`

export type KeyTestStart = { ok: true; options: unknown; challengeId: string } | { ok: false; message: string }
export type KeyTestResult = { ok: true; label: string } | { ok: false; message: string }

const NO_SUCH_KEY = 'That key is not on this account.'

/** The ceremony's options, allowing only this key. */
export async function startKeyTest(user: User, session: Pick<Session, 'id'>, keyId: string): Promise<KeyTestStart> {
  const created = await webauthnAuthenticationOptions(user, target(session, keyId), 'preferred', keyId)
  if (!created) return { ok: false, message: NO_SUCH_KEY }
  return { ok: true, options: created.options, challengeId: created.challengeId }
}

/** Whether the key answered its challenge; the words say which key, or why not. */
export async function finishKeyTest(user: User, session: Pick<Session, 'id'>, input: { keyId: string; challengeId: string; response: AuthenticationResponseJSON }, meta: RequestMeta): Promise<KeyTestResult> {
  const key = (await listKeys(user.id)).find((k) => k.id === input.keyId)
  if (!key) return { ok: false, message: NO_SUCH_KEY }
  const checked = await verifyWebauthnAuthentication(user, { challengeId: input.challengeId, target: target(session, input.keyId), response: input.response }, meta)
  if (!checked.ok) return { ok: false, message: `The test failed: ${WEBAUTHN_MESSAGES[checked.code]}` }
  if (checked.keyId !== input.keyId) return { ok: false, message: 'Another key answered. Touch the key you are testing.' }
  return { ok: true, label: key.label }
}
