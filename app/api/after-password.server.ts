/**
 * THE SIGN-IN SEAM (issue 3 plugs in here). After the password is accepted, what does the member
 * still owe before a token? Today: nothing, so the API answers `{data: {token, user}}` with a
 * password-level session, exactly as the web form does on this branch.
 *
 * When the two-step sign-in lands (app/auth + app/mfa), replace the body of `decideAfterPassword`
 * with a call to the function that branch exports ("what does this member owe after the
 * password"), mapping its answer onto `AfterPassword`:
 *   - a second factor is due  → { next: 'second_factor', method, methods, challengeId }
 *     (the challenge is created by that flow; the API only relays it, and
 *      POST /api/auth/2fa/verify completes it)
 *   - the deadline has passed → { next: 'enrollment_only' }
 *   - nothing is due          → { next: 'session' }
 * Nothing else in the sign-in endpoint (endpoints/auth.server.ts) needs to change.
 *
 * On main that function is `decideSecondStep(user, await listFactors(user.id))`
 * (app/auth/second-step.server.ts): kind 'none' → session, 'enroll' → enrollment_only,
 * 'second_factor' → create the 'login' verification as createPendingSignIn does (withToken: true;
 * the token is the challengeId, returned in the body instead of a cookie) and answer
 * { method: decision.preferred, methods: decision.methods, challengeId: token }.
 */
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { User } from '#app/auth/session.server.ts'

export type AfterPassword =
  | { next: 'session' }
  | { next: 'enrollment_only' }
  | { next: 'second_factor'; method: string; methods: string[]; challengeId: string }

export async function decideAfterPassword(_input: { user: User; meta: RequestMeta; channel: 'api' }): Promise<AfterPassword> {
  return { next: 'session' }
}
