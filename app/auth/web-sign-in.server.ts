/**
 * The web sign-in flow after the form is parsed: the password step, then whatever the member
 * owes next (decideSecondStep, with the organization policy): nothing, the grace prompt, a refusal, a second factor on /login/verify (a pending sign-in
 * with its own cookie, not a session), or enrollment. A trusted device stands in for the second
 * factor where it still counts. Returns the Response to send or a message for the form.
 * The invitation page enters the same flow once the link has set the password.
 */
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { loadSignInDecision } from '#app/policy/enforcement.server.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { hasAppOrKey, listFactors } from '#app/mfa/factors.server.ts'
import { db, schema } from '#db/client.ts'
import { eq } from 'drizzle-orm'
import { acceptTrustedDevice } from '#app/mfa/trusted-devices.server.ts'
import { createPendingSignIn, graceLocation } from './pending-sign-in.server.ts'
import { decideSecondStep } from './second-step.server.ts'
import { sessionCookie, type User } from './session.server.ts'
import { checkPassword, completeSignIn } from './sign-in.server.ts'

export type BeginSignIn = { ok: true; response: Response } | { ok: false; message: string; status: number }

export async function beginSignIn(input: { region: string; email: string; password: string; meta: RequestMeta; redirectTo: string; deviceToken?: string }): Promise<BeginSignIn> {
  const check = await checkPassword(input)
  if (!check.ok) return { ok: false, message: check.message, status: check.code === 'invalid_credentials' ? 400 : check.code === 'frozen' ? 403 : 429 }
  return continueAfterPassword(check.user, input)
}

/**
 * Sign-in right after an invitation link set the password (docs/decisions/050). The link came by
 * email, so it proves the mailbox as an email code would: where the policy asks for an email code
 * (email allowed, the prove-the-mailbox step before forced enrollment), it counts, and the member
 * goes straight on (to /enroll when held to enrollment). A member who already holds an app or key
 * is still asked for it on /login/verify: the mailbox alone never opens a stronger account.
 */
export async function beginSignInAfterInvite(userId: string, meta: RequestMeta): Promise<BeginSignIn> {
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, userId))
  if (!user) return { ok: false, message: 'This invitation has expired or was already used. Ask your administrator for a new one.', status: 400 }
  return continueAfterPassword(user, { meta, redirectTo: '/', mailboxProven: true })
}

/** Everything after an accepted password: the one decision (decideSecondStep) and what it leads to. */
async function continueAfterPassword(user: User, input: { meta: RequestMeta; redirectTo: string; deviceToken?: string; mailboxProven?: boolean }): Promise<BeginSignIn> {
  const [factors, policy] = await Promise.all([listFactors(user.id), loadSignInDecision(user.id)])
  const decision = decideSecondStep(user, factors, policy)
  if (decision.kind === 'blocked') {
    await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { reason: 'policy_blocked' } })
    return { ok: false, message: decision.message, status: 403 }
  }
  if (decision.kind === 'grace') {
    const { token } = await completeSignIn({ user, level: 'password', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo(graceLocation(input.redirectTo), { 'Set-Cookie': sessionCookie(token) }) }
  }
  if (decision.kind === 'none') {
    const { token } = await completeSignIn({ user, level: 'password', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo(input.redirectTo, { 'Set-Cookie': sessionCookie(token) }) }
  }
  if (decision.kind === 'enroll') {
    const { token } = await completeSignIn({ user, level: 'enroll_only', meta: input.meta, method: 'password' })
    return { ok: true, response: redirectTo('/enroll', { 'Set-Cookie': sessionCookie(token) }) }
  }
  if (input.mailboxProven && decision.methods.includes('email') && !hasAppOrKey(factors)) {
    const level = decision.enrollAfter ? 'enroll_only' : 'mfa'
    const { token } = await completeSignIn({ user, level, meta: input.meta, method: 'email' })
    if (user.mfaResetAt) await db.update(schema.users).set({ mfaResetAt: null }).where(eq(schema.users.id, user.id))
    return { ok: true, response: redirectTo(level === 'enroll_only' ? '/enroll' : decision.graceAfter ? graceLocation(input.redirectTo) : input.redirectTo, { 'Set-Cookie': sessionCookie(token) }) }
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
