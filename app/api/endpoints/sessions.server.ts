/**
 * The member's own sessions over the API (decision 061): the same list and sign-out as
 * /settings/security/sessions, through app/auth/member-sessions.server.ts. Only a member's
 * session token may use them: an organization API key is not a session and has none.
 */
import { z } from 'zod'
import { listMemberSessions, signOutSession } from '#app/auth/member-sessions.server.ts'
import type { Caller, SessionCaller } from '../auth.server.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { apiError } from '../errors.server.ts'
import { dateTime } from './views.server.ts'

function sessionOnly(caller: Caller): SessionCaller {
  if (caller.kind !== 'session') throw apiError('forbidden', 'API keys are not sessions: these endpoints need a member’s session token (POST /api/auth/signin).')
  return caller
}

const sessionSchema = z.object({
  id: z.string().uuid(),
  channel: z.enum(['web', 'api']).describe('web: a browser (cookie); api: an API session token'),
  browser: z.string().describe('The browser and its major version, from the User-Agent, e.g. "Chrome 124"'),
  system: z.string().describe('The operating system, e.g. "iOS 17.4"'),
  ip: z.string().nullable().describe('The address the session was signed in from'),
  createdAt: dateTime,
  lastSeenAt: dateTime,
  current: z.boolean().describe('true for the session behind this bearer token'),
})

export const listSessionsEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/auth/sessions',
  tag: 'auth',
  summary: 'The member’s active sessions: browsers and API session tokens',
  description: 'Live sessions only (not past their idle or absolute expiry), most recently seen first. API keys are refused (403): they are not sessions.',
  auth: 'session',
  response: z.object({ sessions: z.array(sessionSchema) }),
  async handler({ caller }) {
    const { user, session } = sessionOnly(caller)
    const sessions = await listMemberSessions(user.id, session.id)
    return { sessions: sessions.map((x) => ({ ...x, createdAt: iso(x.createdAt)!, lastSeenAt: iso(x.lastSeenAt)! })) }
  },
})

export const endSessionEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/auth/sessions/:id',
  tag: 'auth',
  summary: 'Sign out one of the member’s sessions (a browser or an API session token)',
  description: 'The session ends at once: its next request is signed out. The id of the current token signs this token out. Another member’s session id answers 404 and changes nothing.',
  auth: 'session',
  params: z.object({ id: z.string().uuid() }),
  response: z.object({ signedOut: z.literal(true), current: z.boolean().describe('true when this was the session behind this bearer token') }),
  async handler({ caller, params, meta, tx }) {
    const { user, session } = sessionOnly(caller)
    const { current } = await signOutSession({ user, sessionId: params.id, currentSessionId: session.id, meta }, tx)
    return { signedOut: true as const, current }
  },
})
