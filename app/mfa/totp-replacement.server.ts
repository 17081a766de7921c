/**
 * "Replace authenticator app" (moving the app to a new phone) as one flow: start (a new secret
 * beside the current one), confirm with a code from the new app (swap, audit, notice), cancel.
 * The current app keeps signing in until the confirm commits, so a member under a policy that
 * allows only an app never goes without an allowed factor. Recovery codes are left as they are.
 */
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { endOtherSessions, type User } from '#app/auth/session.server.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db } from '#db/client.ts'
import { enrollmentClosed } from './enrollment.server.ts'
import { beginTotpReplacement, cancelTotpReplacement, confirmTotpReplacement, TOTP_REPLACEMENT_MESSAGES } from './totp.server.ts'

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
 * app (one transaction with its audit event, ending every session but `currentSessionId`:
 * decision 061), and the member is emailed with a freeze link.
 */
export async function replaceTotp(user: User, code: string, meta: RequestMeta, currentSessionId: string | null): Promise<{ ok: true } | ReplacementRefusal> {
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return { ok: false, status: 403, field: 'form', code: 'closed', message: closed }
  const result = await db.transaction(async (tx): Promise<{ ok: true } | ReplacementRefusal> => {
    const check = await confirmTotpReplacement(user, code, tx)
    if (!check.ok) {
      const field = check.code === 'malformed' || check.code === 'invalid' || check.code === 'replayed' ? 'code' : 'form'
      return { ok: false, status: 400, field, code: check.code, message: TOTP_REPLACEMENT_MESSAGES[check.code] }
    }
    await recordAudit({ action: 'auth.totp_replaced', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { timeStep: check.timeStep } }, tx)
    await endOtherSessions({ user, keep: currentSessionId, reason: 'totp_replaced', meta }, tx)
    return { ok: true }
  })
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
