/**
 * Invitations over the API (decision 055): the member lists, accepts and declines their own
 * invitations with a session token; owners and admins create service accounts (never invited).
 */
import { z } from 'zod'
import { answerInvitation, createServiceAccount, listMyInvitations, serviceAccountInput } from '#app/orgs/invites.server.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { dateTime } from './views.server.ts'

const role = z.enum(['owner', 'admin', 'member'])
const invitationSchema = z.object({
  id: z.string().uuid(),
  organization: z.object({ id: z.string().uuid(), slug: z.string(), name: z.string() }),
  role,
  region: z.string(),
  policy: z.string().describe('The organization’s policy in the member’s region, in words'),
  createdAt: dateTime,
  expiresAt: dateTime,
})

export const listMyInvitationsEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/me/invitations',
  tag: 'invitations',
  summary: 'The caller’s pending invitations, with each organization’s policy in their region',
  auth: 'session',
  response: z.object({ invitations: z.array(invitationSchema) }),
  async handler({ caller, tx }) {
    const rows = await listMyInvitations(caller.user, tx)
    return {
      invitations: rows.map((r) => ({ id: r.id, organization: r.organization, role: r.role, region: r.region, policy: r.policyText, createdAt: iso(r.createdAt)!, expiresAt: iso(r.expiresAt)! })),
    }
  },
})

const answerEndpoint = (answer: 'accept' | 'decline') =>
  defineEndpoint({
    method: 'POST',
    path: `/api/me/invitations/:id/${answer}`,
    tag: 'invitations',
    summary: answer === 'accept' ? 'Accept an invitation: the caller joins the organization now' : 'Decline an invitation',
    description: 'Single use. A member with an authenticator app or a security key needs a session that passed it (403 step_up_required otherwise). 404 when the invitation is not open.',
    auth: 'session',
    params: z.object({ id: z.string().uuid() }),
    errors: [403, 404],
    response: z.object({ invitation: z.object({ id: z.string().uuid(), organizationId: z.string().uuid(), role, state: z.enum(['accepted', 'declined']) }) }),
    async handler({ caller, params, meta, tx }) {
      if (caller.kind !== 'session') throw new Error('unreachable: session-only endpoint')
      const row = await answerInvitation({ user: caller.user, session: caller.session, invitationId: params.id, answer, meta }, tx)
      return { invitation: { id: row.id, organizationId: row.organizationId, role: row.role, state: answer === 'accept' ? ('accepted' as const) : ('declined' as const) } }
    },
  })

export const acceptInvitationEndpoint = answerEndpoint('accept')
export const declineInvitationEndpoint = answerEndpoint('decline')

export const createServiceAccountEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/service-accounts',
  tag: 'organizations',
  summary: 'Create a service account of this organization (no password; it uses API keys)',
  description: 'An address already used by an account in that region is refused with 409 conflict and nothing is created.',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  body: serviceAccountInput.strict(),
  status: 201,
  errors: [409],
  response: z.object({ serviceAccount: z.object({ id: z.string().uuid(), email: z.string(), name: z.string(), region: z.string() }) }),
  async handler({ org, caller, body, meta, tx }) {
    const user = await createServiceAccount(org.scope, body, { id: caller.user.id, label: caller.user.email }, meta, tx)
    return { serviceAccount: { id: user.id, email: user.email, name: user.name, region: user.region } }
  },
})
