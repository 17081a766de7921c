/**
 * The web verify step of sign-in (/login/verify and /login/email/:token), kept out of the route
 * modules: it dispatches on the parsed form, re-checks the method against the decision, counts
 * failures on the pending sign-in, and completes it.
 */
import type { RequestMeta } from '#app/audit/record.server.ts'
import { methodAllowed } from '#app/auth/second-step.server.ts'
import { clearPendingCookie, failPendingAttempt, finishPendingSignIn, type PendingSignIn } from '#app/auth/pending-sign-in.server.ts'
import { consumeVerification, findByToken } from '#app/auth/verification.server.ts'
import { checkSecondFactor } from './check.server.ts'
import { EMAIL_CODE_MESSAGES, findEmailCode, sendEmailCode } from './email-code.server.ts'
import { toFactorInput, type FactorForm } from './factor-form.server.ts'
import type { Method } from './factors.server.ts'
import { webauthnAuthenticationOptions } from './webauthn.server.ts'

export type VerifyOutcome =
  | { kind: 'redirect'; location: string; headers: Headers }
  | { kind: 'data'; body: Record<string, unknown>; status: number; headers?: Headers }

const intentMethod = (intent: FactorForm['intent']): Method =>
  intent === 'email_send' || intent === 'email' ? 'email' : intent === 'webauthn_options' || intent === 'webauthn' ? 'webauthn' : intent

const refuse = (form: string, status = 400, headers?: Headers): VerifyOutcome => ({ kind: 'data', body: { errors: { form } }, status, headers })

export async function handleVerifyForm(pending: PendingSignIn, form: FactorForm, meta: RequestMeta): Promise<VerifyOutcome> {
  const method = intentMethod(form.intent)
  if (!methodAllowed(pending.decision, method)) return refuse('That way of verifying is not available for this account.', 403)
  const target = pending.verification.id

  if (form.intent === 'email_send') {
    const sent = await sendEmailCode(pending.user, target, { withLink: true })
    if (sent.ok) return { kind: 'data', body: { emailSent: true, notice: `We sent a code to ${pending.user.email}.` }, status: 200 }
    if (sent.code === 'too_soon') return { kind: 'data', body: { emailSent: true, errors: { form: `A code was just sent. You can ask for a new one in ${sent.retryAfterSeconds} seconds.` } }, status: 429 }
    return refuse(EMAIL_CODE_MESSAGES.unavailable, 503)
  }
  if (form.intent === 'webauthn_options') {
    const created = await webauthnAuthenticationOptions(pending.user, target)
    if (!created) return refuse('There is no security key on this account.')
    return { kind: 'data', body: { webauthnOptions: created.options, challengeId: created.challengeId }, status: 200 }
  }
  const input = toFactorInput(form)!
  const result = await checkSecondFactor(pending.user, input, target, meta)
  if (!result.ok) {
    const errors = { [input.method === 'webauthn' ? 'form' : 'code']: result.message }
    if (result.counted) {
      const { ended } = await failPendingAttempt(pending)
      if (ended) {
        const headers = new Headers({ 'Set-Cookie': clearPendingCookie() })
        return { kind: 'data', body: { ended: true, errors: { form: 'Too many wrong attempts. For your safety this sign-in has ended: sign in again.' } }, status: 400, headers }
      }
    }
    return { kind: 'data', body: { errors, emailSent: input.method === 'email' }, status: 400 }
  }
  const remember = 'remember' in form && form.remember === 'on'
  const done = await finishPendingSignIn(pending, result.method, meta, { remember })
  if (!done) return refuse('This sign-in was already completed or has expired. Sign in again.')
  return { kind: 'redirect', location: done.location, headers: done.headers }
}

export async function hasSentEmailCode(pending: PendingSignIn) {
  return Boolean(await findEmailCode(pending.user.id, pending.verification.id))
}

/** The email link: a confirm page whose POST completes only the pending sign-in this browser holds. */
export async function findEmailLink(token: string) {
  if (!token || token.length > 100) return undefined
  return findByToken('email_code', token)
}

export async function completeEmailLink(pending: PendingSignIn | null, token: string, meta: RequestMeta): Promise<VerifyOutcome> {
  const link = await findEmailLink(token)
  if (!link) return refuse('This sign-in link has expired or was already used. Sign in again.')
  if (!pending || link.target !== pending.verification.id || link.userId !== pending.user.id) {
    return refuse('Open this link in the browser where you started signing in. For your safety it only works there.', 403)
  }
  if (!methodAllowed(pending.decision, 'email')) return refuse('That way of verifying is not available for this account.', 403)
  if (!(await consumeVerification(link.id))) return refuse('This sign-in link has expired or was already used. Sign in again.')
  const done = await finishPendingSignIn(pending, 'email', meta)
  if (!done) return refuse('This sign-in was already completed or has expired. Sign in again.')
  return { kind: 'redirect', location: done.location, headers: done.headers }
}
