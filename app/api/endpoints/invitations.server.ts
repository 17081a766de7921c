/**
 * Invitations over the API (decision 055): the member lists, accepts and declines their own
 * invitations with a session token; owners and admins invite people (the answer is the same whether
 * or not the address has an account), list and cancel their organization's invitations, and create
 * service accounts (never invited).
 */
import { z } from 'zod'
import { answerInvitation, cancelInvitation, createServiceAccount, inviteMember, listMyInvitations, listOrgInvitations } from '#app/orgs/invites.server.ts'
import { inviteInput, orgRoleSchema, serviceAccountInput } from '#app/orgs/members.schema.ts'
import { MailUnavailableError } from '#app/mail/queue-email.server.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { apiError } from '../errors.server.ts'
import { dateTime } from './views.server.ts'

const role = orgRoleSchema
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
    errors: ['step_up_required'],
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
  errors: ['conflict'],
  response: z.object({ serviceAccount: z.object({ id: z.string().uuid(), email: z.string(), name: z.string(), region: z.string() }) }),
  async handler({ org, caller, body, meta, tx }) {
    const user = await createServiceAccount(org.scope, body, { id: caller.user.id, label: caller.user.email }, meta, tx)
    return { serviceAccount: { id: user.id, email: user.email, name: user.name, region: user.region } }
  },
})

const orgInvitationSchema = z.object({ id: z.string().uuid(), email: z.string(), region: z.string(), role, createdAt: dateTime, expiresAt: dateTime })
type OrgInvitationRow = Awaited<ReturnType<typeof listOrgInvitations>>[number]
const orgInvitationView = (r: OrgInvitationRow) => ({ ...r, createdAt: iso(r.createdAt)!, expiresAt: iso(r.expiresAt)! })

export const listOrgInvitationsEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/invitations',
  tag: 'invitations',
  summary: 'The organization’s pending invitations',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  response: z.object({ invitations: z.array(orgInvitationSchema) }),
  async handler({ org, tx }) {
    return { invitations: (await listOrgInvitations(org.scope, tx)).map(orgInvitationView) }
  },
})

export const inviteEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/invitations',
  tag: 'invitations',
  summary: 'Invite a person by email; they join only when they accept',
  description:
    'The same answer whether or not the address has an account. Admins invite members; only owners invite admins and owners (403). 409 invitation_pending when the address already has an open invitation here, 409 conflict when it is already a member. Service accounts are created, never invited (POST /api/organizations/:orgId/service-accounts).',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  body: inviteInput.strict(),
  status: 201,
  errors: ['invitation_pending', 'conflict', 'mail_unavailable'],
  // The email is queued after the invitation is committed, so the handler runs its own transaction.
  transaction: false,
  response: z.object({ invitation: z.object({ id: z.string().uuid(), state: z.literal('pending') }) }),
  async handler({ org, caller, body, meta }) {
    const role = org.role ?? 'member'
    try {
      const { invitationId } = await inviteMember(org.org, org.scope, body, { actor: { id: caller.user.id, label: caller.user.email }, role, name: caller.user.name }, meta)
      return { invitation: { id: invitationId, state: 'pending' as const } }
    } catch (e) {
      if (e instanceof MailUnavailableError) throw apiError('mail_unavailable', 'The invitation was saved but email cannot be sent right now. Cancel it and invite the address again in a few minutes.')
      throw e
    }
  },
})

export const cancelInvitationEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/organizations/:orgId/invitations/:invitationId',
  tag: 'invitations',
  summary: 'Cancel one of this organization’s pending invitations (nothing else is touched)',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  params: z.object({ invitationId: z.string().uuid() }),
  response: z.object({ cancelled: z.literal(true) }),
  async handler({ org, caller, params, meta, tx }) {
    await cancelInvitation(org.scope, params.invitationId, { id: caller.user.id, label: caller.user.email }, meta, tx)
    return { cancelled: true as const }
  },
})
