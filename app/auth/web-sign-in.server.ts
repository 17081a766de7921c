/**
 * The web sign-in flow after the form is parsed: the password step, then whatever the member
 * owes next (decideSecondStep, with the organization policy): nothing, the grace prompt, a refusal, a second factor on /login/verify (a pending sign-in
 * with its own cookie, not a session), or enrollment. A trusted device stands in for the second
 * factor where it still counts. Returns the Response to send or a message for the form.
 */
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { loadSignInDecision } from '#app/policy/enforcement.server.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { listFactors } from '#app/mfa/factors.server.ts'
import { acceptTrustedDevice } from '#app/mfa/trusted-devices.server.ts'
import { createPendingSignIn } from './pending-sign-in.server.ts'
import { decideSecondStep } from './second-step.server.ts'
import { sessionCookie } from './session.server.ts'
import { checkPassword, completeSignIn } from './sign-in.server.ts'

export type BeginSignIn = { ok: true; response: Response } | { ok: false; message: string; status: number }

export async function beginSignIn(input: { region: string; email: string; password: string; meta: RequestMeta; redirectTo: string; deviceToken?: string }): Promise<BeginSignIn> {
  const check = await checkPassword(input)
  if (!check.ok) return { ok: false, message: check.message, status: check.code === 'invalid_credentials' ? 400 : 429 }
  const user = check.user
  const [factors, policy] = await Promise.all([listFactors(user.id), loadSignInDecision(user.id)])
  const decision = decideSecondStep(user, factors, policy)
  if (decision.kind === 'blocked') {
    await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { reason: 'policy_blocked' } })
    return { ok: false, message: decision.message, status: 403 }
  }
  if (decision.kind === 'grace') {
    const { token } = await completeSignIn({ user, level: 'password', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo(`/login/grace?redirectTo=${encodeURIComponent(input.redirectTo)}`, { 'Set-Cookie': sessionCookie(token) }) }
  }
  if (decision.kind === 'none') {
    const { token } = await completeSignIn({ user, level: 'password', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo(input.redirectTo, { 'Set-Cookie': sessionCookie(token) }) }
  }
  if (decision.kind === 'enroll') {
    const { token } = await completeSignIn({ user, level: 'enroll_only', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo('/enroll', { 'Set-Cookie': sessionCookie(token) }) }
  }
  const deviceMethods = decision.methods.filter((m): m is 'totp' | 'webauthn' | 'email' => m !== 'recovery_code')
  if (decision.reason === 'factor' && decision.rememberDays > 0 && (await acceptTrustedDevice(input.deviceToken, user, { methods: deviceMethods, rememberDays: decision.rememberDays }))) {
    // A trusted device signs in at the MFA level but sets no second_factor_at: it never counts for step-up.
    const { token } = await completeSignIn({ user, level: 'mfa', meta: input.meta, method: 'trusted_device' })
    return { ok: true, response: redirectTo(input.redirectTo, { 'Set-Cookie': sessionCookie(token) }) }
  }
  const { cookie } = await createPendingSignIn(user, decision, input.redirectTo)
  return { ok: true, response: redirectTo('/login/verify', { 'Set-Cookie': cookie }) }
}
