/**
 * THE session lookup of every request, web and API (docs/decisions/026): the session by its
 * token, and, for a session signed in with the password alone (level `password`), the policy
 * decided again from the database with the one policy function (`loadEffectivePolicy`), read by
 * `passwordSessionVerdict` over the same sign-in step sign-in decides from (decision 063). A grace
 * period that ran out, or an admin's "block", so reaches sessions that already exist, not only the
 * next sign-in.
 *
 * MFA-level and enrollment-only sessions pay nothing here: the level is on the row `loadSession`
 * already returns, and only `password` sessions run the policy queries.
 */
import { and, eq, sql } from 'drizzle-orm'
import { recordAudit, systemActor, type RequestMeta } from '#app/audit/record.server.ts'
import { loadEffectivePolicy } from '#app/policy/member-status.server.ts'
import { passwordSessionVerdict } from '#app/policy/sign-in-step.ts'
import { db, schema } from '#db/client.ts'
import { ENROLL_ONLY_MINUTES, endSessionById, loadSession, type Session, type User } from './session.server.ts'
import { noteRequestUser } from '#app/observability/request-context.server.ts'

export type LiveSession =
  | { kind: 'signed_in'; session: Session; user: User }
  /** No token, or no live session for it. */
  | { kind: 'none' }
  /** The policy now blocks this member: the session has ended (or, with `apply: false`, would end). */
  | { kind: 'blocked'; message: string }

/**
 * Loads the live session for `token` on `channel` and enforces the current policy on it.
 * `apply: true` (the guards, the API) makes the outcome stick: a session held to enrollment is
 * turned into an enrollment-only one (15 minutes at most, as at sign-in), a blocked one is ended;
 * both audited. `apply: false` (the layout and the sign-in page, which only read) decides the
 * same but writes nothing, so a parallel loader that applies it still finds the session to end.
 */
export async function loadLiveSession(
  token: string | undefined,
  channel: 'web' | 'api',
  options: { apply: boolean; meta?: RequestMeta },
): Promise<LiveSession> {
  const signedIn = await loadSession(token, channel)
  if (!signedIn) return { kind: 'none' }
  noteRequestUser(signedIn.user.id)
  // The hot path: a session that passed a second factor (or is already enrollment-only) is not re-decided.
  if (signedIn.session.level !== 'password') return { kind: 'signed_in', ...signedIn }

  const { session, user } = signedIn
  const verdict = passwordSessionVerdict(await loadEffectivePolicy(user.id))
  if (verdict.kind === 'continue') return { kind: 'signed_in', session, user }

  const audit = (action: 'auth.session_restricted' | 'auth.session_ended', reason: string) =>
    recordAudit({ action, actor: systemActor('system'), subjectId: user.id, meta: options.meta, details: { reason, sessionId: session.id, channel } })

  if (verdict.kind === 'blocked') {
    if (options.apply) {
      // Only the request that ended it records it (parallel requests may race here).
      if (await endSessionById(session.id)) await audit('auth.session_ended', 'policy_blocked')
    }
    return verdict
  }

  // Held to enrollment: the same session, now enrollment-only, for 15 minutes at most.
  if (!options.apply) return { kind: 'signed_in', user, session: { ...session, level: 'enroll_only' } }
  const [restricted] = await db
    .update(schema.sessions)
    .set({
      level: 'enroll_only',
      idleExpiresAt: sql`least(${schema.sessions.idleExpiresAt}, now() + make_interval(mins => ${ENROLL_ONLY_MINUTES}))`,
      absoluteExpiresAt: sql`least(${schema.sessions.absoluteExpiresAt}, now() + make_interval(mins => ${ENROLL_ONLY_MINUTES}))`,
    })
    .where(and(eq(schema.sessions.id, session.id), eq(schema.sessions.level, 'password')))
    .returning()
  if (restricted) await audit('auth.session_restricted', 'policy_force_enrollment')
  return { kind: 'signed_in', user, session: restricted ?? { ...session, level: 'enroll_only' } }
}
