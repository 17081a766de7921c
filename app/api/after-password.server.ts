/**
 * THE SIGN-IN SEAM. After the password is accepted, what does the member still owe before a
 * token? The same decision the web sign-in makes (app/auth/web-sign-in.server.ts):
 * `decideSecondStep(user, factors, effective organization policy)`, mapped onto the API:
 *   - 'none' / 'grace'  → a session (with the grace deadline, so a script can warn)
 *   - 'enroll'          → an enrollment-only token
 *   - 'blocked'         → refused with the decision's message (whom to contact)
 *   - 'second_factor'   → a pending sign-in (the 'login' verification the web uses, on the
 *                          'api' channel); its token is the `challengeId`, completed by
 *                          POST /api/auth/2fa/verify. It carries the decision, so an overdue
 *                          member gets `enrollmentOnly: true` only after the email-code step,
 *                          and a reset member in grace gets `grace` with the token (`graceAfter`).
 * API clients have no trusted-device cookie, so a remembered device never stands in here.
 */
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { createLoginChallenge } from '#app/auth/pending-sign-in.server.ts'
import { decideSecondStep } from '#app/auth/second-step.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { listFactors } from '#app/mfa/factors.server.ts'
import { loadSignInDecision } from '#app/policy/enforcement.server.ts'
import { gracePromptFrom } from '#app/policy/grace-prompt.server.ts'

export type AfterPassword =
  | { next: 'session'; grace: { deadline: string; organizations: string[]; allowedMethods: string[]; daysLeft: number } | null }
  | { next: 'enrollment_only' }
  | { next: 'blocked'; message: string }
  | { next: 'second_factor'; method: string; methods: string[]; challengeId: string }

export async function decideAfterPassword(input: { user: User; meta: RequestMeta; channel: 'api' }): Promise<AfterPassword> {
  const { user } = input
  const [factors, policy] = await Promise.all([listFactors(user.id), loadSignInDecision(user.id)])
  const decision = decideSecondStep(user, factors, policy)
  switch (decision.kind) {
    case 'none':
      return { next: 'session', grace: null }
    case 'grace':
      return { next: 'session', grace: gracePromptFrom(policy) }
    case 'enroll':
      return { next: 'enrollment_only' }
    case 'blocked':
      await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { reason: 'policy_blocked', channel: 'api' } })
      return { next: 'blocked', message: decision.message }
    case 'second_factor': {
      const { token } = await createLoginChallenge(user, decision, { channel: input.channel })
      return { next: 'second_factor', method: decision.preferred, methods: decision.methods, challengeId: token }
    }
  }
}
