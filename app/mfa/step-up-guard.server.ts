/** Route helper: throws a redirect to the step-up page when a sensitive action needs a fresh factor. */
import { redirectTo } from '#app/http/request.server.ts'
import type { Session } from '#app/auth/session.server.ts'
import { listFactors } from './factors.server.ts'
import { needsStepUp } from './step-up.server.ts'

export async function requireStepUp(userId: string, session: Session, returnTo: string) {
  const factors = await listFactors(userId)
  if (needsStepUp(session, factors)) throw redirectTo(`/settings/security/confirm?redirectTo=${encodeURIComponent(returnTo)}`)
  return factors
}
