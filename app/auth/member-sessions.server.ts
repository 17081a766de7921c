/**
 * A member's own active sessions (ASVS 3.3.4): the list the sessions page and
 * `GET /api/auth/sessions` show, and signing one out, or every other one (decision 061).
 * Web sessions and API session tokens are both sessions; organization API keys are not.
 * A member reaches only their own sessions: another member's session id is "not found".
 */
import { and, eq } from 'drizzle-orm'
import { recordAudit, refuseChange, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { browserLabel } from './user-agent.ts'
import { endOtherSessions, listLiveSessions, type User } from './session.server.ts'

export type MemberSession = {
  id: string
  channel: 'web' | 'api'
  browser: string
  system: string
  ip: string | null
  createdAt: Date
  lastSeenAt: Date
  /** The session this request came with. */
  current: boolean
}

export async function listMemberSessions(userId: string, currentSessionId: string): Promise<MemberSession[]> {
  const rows = await listLiveSessions(userId)
  return rows.map((row) => {
    const { browser, system } = browserLabel(row.userAgent)
    return { id: row.id, channel: row.channel === 'api' ? 'api' : 'web', browser, system, ip: row.ip, createdAt: row.createdAt, lastSeenAt: row.lastSeenAt, current: row.id === currentSessionId }
  })
}

const NO_SUCH_SESSION = 'There is no such session on your account. It may have ended already.'

/**
 * Ends one of the member's own sessions (it may be the current one: that is signing out here).
 * Another member's session id is refused as not found, changes nothing, and is audited with who tried.
 */
export async function signOutSession(
  input: { user: Pick<User, 'id' | 'email'>; sessionId: string; currentSessionId: string; meta: RequestMeta },
  tx: Tx = db,
): Promise<{ current: boolean }> {
  const s = schema.sessions
  const [ended] = await tx
    .delete(s)
    .where(and(eq(s.id, input.sessionId), eq(s.userId, input.user.id)))
    .returning({ id: s.id, channel: s.channel })
  const actor = { id: input.user.id, label: input.user.email }
  if (!ended) {
    const [owner] = await tx.select({ userId: s.userId }).from(s).where(eq(s.id, input.sessionId))
    const error = new DomainError('not_found', NO_SUCH_SESSION)
    if (owner) await refuseChange(error, { actor, attempt: 'session.sign_out', subjectId: owner.userId, meta: input.meta, details: { sessionId: input.sessionId } })
    throw error
  }
  const current = ended.id === input.currentSessionId
  await recordAudit({ action: 'auth.session_revoked', actor, subjectId: input.user.id, meta: input.meta, details: { reason: 'signed_out', sessionId: ended.id, channel: ended.channel, current } }, tx)
  return { current }
}

/** "Sign out everywhere else": every other web session and API session token; this one stays. */
export async function signOutEverywhereElse(input: { user: Pick<User, 'id' | 'email'>; currentSessionId: string; meta: RequestMeta }, tx: Tx = db): Promise<number> {
  return endOtherSessions({ user: input.user, keep: input.currentSessionId, reason: 'signed_out_elsewhere', meta: input.meta }, tx)
}
