/** The step-up page's logic: which methods, dispatch, and marking the session on success. */
import type { RequestMeta } from '#app/audit/record.server.ts'
import { markSecondFactor, type Session, type User } from '#app/auth/session.server.ts'
import { checkSecondFactor } from './check.server.ts'
import { EMAIL_CODE_MESSAGES, findEmailCode, sendEmailCode } from './email-code.server.ts'
import { toFactorInput, type FactorForm } from './factor-form.server.ts'
import { listFactors, type Method } from './factors.server.ts'
import { stepUpMethods } from './step-up.server.ts'
import { webauthnAuthenticationOptions } from './webauthn.server.ts'

const stepUpTarget = (session: Session) => `step_up:${session.id}`

export async function stepUpPageData(user: User, session: Session, asked: string | null, redirectTo: string) {
  const methods = stepUpMethods(await listFactors(user.id))
  const preferred = (user.preferredMethod && methods.includes(user.preferredMethod) ? user.preferredMethod : methods[0]) as Method
  const method = (asked && methods.includes(asked as Method) ? asked : preferred) as Method
  return { method, methods, email: user.email, redirectTo, emailSent: method === 'email' ? Boolean(await findEmailCode(user.id, stepUpTarget(session))) : false }
}

export type StepUpOutcome = { kind: 'done' } | { kind: 'data'; body: Record<string, unknown>; status: number }

export async function handleStepUpForm(user: User, session: Session, form: FactorForm, meta: RequestMeta): Promise<StepUpOutcome> {
  const methods = stepUpMethods(await listFactors(user.id))
  const method: Method = form.intent === 'email_send' ? 'email' : form.intent === 'webauthn_options' ? 'webauthn' : form.intent
  // Server-side: an email code is refused when the member has an app or key; a trusted device never counts.
  if (!methods.includes(method)) return { kind: 'data', body: { errors: { form: 'That way of confirming is not available for this account.' } }, status: 403 }
  const target = stepUpTarget(session)
  if (form.intent === 'email_send') {
    const sent = await sendEmailCode(user, target, { withLink: false })
    if (sent.ok) return { kind: 'data', body: { emailSent: true, notice: `We sent a code to ${user.email}.` }, status: 200 }
    if (sent.code === 'too_soon') return { kind: 'data', body: { emailSent: true, errors: { form: `A code was just sent. You can ask for a new one in ${sent.retryAfterSeconds} seconds.` } }, status: 429 }
    return { kind: 'data', body: { errors: { form: EMAIL_CODE_MESSAGES.unavailable } }, status: 503 }
  }
  if (form.intent === 'webauthn_options') {
    const created = await webauthnAuthenticationOptions(user, target)
    if (!created) return { kind: 'data', body: { errors: { form: 'There is no security key on this account.' } }, status: 400 }
    return { kind: 'data', body: { webauthnOptions: created.options, challengeId: created.challengeId }, status: 200 }
  }
  const input = toFactorInput(form)!
  const result = await checkSecondFactor(user, input, target, meta)
  if (!result.ok) return { kind: 'data', body: { errors: { [input.method === 'webauthn' ? 'form' : 'code']: result.message }, emailSent: input.method === 'email' }, status: 400 }
  await markSecondFactor(session.id, result.method)
  return { kind: 'done' }
}

export type CodeStepUp = { ok: true; method: Method } | { ok: false; reason: 'no_method' | 'invalid'; message: string }

/**
 * Step-up from one typed code (the JSON API and CLI, which have no step-up page): a current app
 * code or a recovery code; an email code only for a member with no app or key (the same
 * `stepUpMethods` as the page). A wrong code is counted like any failed second factor. On
 * success the session records the fresh second factor, as the page does.
 */
export async function stepUpWithCode(user: User, session: Session, code: string, meta: RequestMeta): Promise<CodeStepUp> {
  const methods = stepUpMethods(await listFactors(user.id))
  const digits = code.replace(/\s+/g, '')
  const method: Method | undefined = /^\d{6}$/.test(digits)
    ? methods.includes('totp') ? 'totp' : methods.includes('email') ? 'email' : undefined
    : methods.includes('recovery_code') ? 'recovery_code' : undefined
  if (!method) {
    const what = methods.includes('totp') ? 'the 6-digit code from your authenticator app or a recovery code' : methods.includes('email') ? 'the 6-digit code we email you' : 'a recovery code'
    return { ok: false, reason: 'no_method', message: `Confirm with ${what}.` }
  }
  const result = await checkSecondFactor(user, { method, code } as { method: 'totp' | 'email' | 'recovery_code'; code: string }, stepUpTarget(session), meta)
  if (!result.ok) return { ok: false, reason: 'invalid', message: result.message }
  await markSecondFactor(session.id, result.method)
  return { ok: true, method: result.method }
}
