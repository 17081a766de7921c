/**
 * "Replace authenticator app" (moving the app to a new phone) as one flow: start (a new secret
 * beside the current one), confirm with a code from the new app (swap, audit, notice), cancel.
 * The current app keeps signing in until the confirm commits, so a member under a policy that
 * allows only an app never goes without an allowed factor. Recovery codes are left as they are.
 */
import type { RequestMeta } from '#app/audit/record.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { endOtherSessions, type User } from '#app/auth/session.server.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { enrollmentClosed } from './enrollment.server.ts'
import { beginTotpReplacement, cancelTotpReplacement, TOTP_REPLACEMENT_MESSAGES } from './totp.server.ts'
import { verifyFactor } from './verifier.server.ts'

export type ReplacementRefusal = { ok: false; status: 400 | 403; field: 'code' | 'form'; code: string; message: string }

/** The new secret, URI and QR code to show (the same one again while it is still pending). */
export async function startTotpReplacement(user: User) {
  // A replacement enrols a new app: refused wherever setting one up is (disabled, app not allowed).
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return { ok: false, status: 403, field: 'form', code: 'closed', message: closed } satisfies ReplacementRefusal
  const started = await beginTotpReplacement(user)
  if (!started.ok) return { ok: false, status: 400, field: 'form', code: started.code, message: TOTP_REPLACEMENT_MESSAGES[started.code] } satisfies ReplacementRefusal
  return started
}

/**
 * Confirms the replacement with a current code from the new app. On success the new secret is the
 * app, and the member is emailed with a freeze link.
 */
export async function replaceTotp(user: User, code: string, meta: RequestMeta, currentSessionId: string | null): Promise<{ ok: true } | ReplacementRefusal> {
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return { ok: false, status: 403, field: 'form', code: 'closed', message: closed }
  // Through the one verifier (decision 063): the pending secret's own tries, the swap and its audit
  // event in one transaction, ending every session but this one (decision 061).
  const checked = await verifyFactor(user, { method: 'totp', code }, { kind: 'totp_replacement' }, meta, {
    complete: async (tx) => void (await endOtherSessions({ user, keep: currentSessionId, reason: 'totp_replaced', meta }, tx)),
  })
  const result: { ok: true } | ReplacementRefusal = checked.ok
    ? { ok: true }
    : { ok: false, status: 400, field: checked.code === 'malformed' || checked.code === 'invalid' || checked.code === 'replayed' ? 'code' : 'form', code: checked.code, message: checked.message }
  if (result.ok) await noticeTotpReplaced(user)
  return result
}

/** Cancelling drops the new secret; the current app is untouched. */
export { cancelTotpReplacement }

/** Emails the "app replaced" notice with a freeze link (after the transaction commits), like an added factor. */
async function noticeTotpReplaced(user: User) {
  const { verification } = await createVerification({ purpose: 'freeze', userId: user.id, ttlSeconds: 30 * 86_400, maxAttempts: 5, payload: { via: 'totp_replaced_notice' } })
  await queueNotice({ to: user.email, userId: user.id, template: 'totp_replaced', verificationId: verification.id, params: { region: user.region, at: new Date().toISOString() } })
}
