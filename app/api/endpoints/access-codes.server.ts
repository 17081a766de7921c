/**
 * Temporary access codes over the API (decision 070): support issues and revokes them for any
 * account, an organization admin for a plain member of their organization, through the same domain
 * as the web pages (app/support/temporary-access.server.ts): identity checks, reason, ticket, the
 * two-person rule, the member's email with a freeze link, the audit events. Only a person's
 * session token may call them; the code is in the answer once and nowhere else.
 */
import { z } from 'zod'
import { IDENTITY_CHECKS } from '#app/support/reset.server.ts'
import {
  ACCESS_CODE_DEFAULT_HOURS, ACCESS_CODE_MAX_HOURS, ACCESS_CODE_MIN_HOURS, issueApprovedAccessCode, orgAdminIssueAccessCode, orgAdminRevokeAccessCode, supportIssueAccessCode, supportRevokeAccessCode,
  type IssuedCode,
} from '#app/support/temporary-access.server.ts'
import type { Caller, SessionCaller } from '../auth.server.ts'
import { defineEndpoint } from '../define.server.ts'
import { apiError, notFoundError } from '../errors.server.ts'
import { dateTime } from './views.server.ts'

/** Support staff at the MFA level, as the support console's guard; anyone else 404. */
function supportOnly(caller: Caller): SessionCaller {
  if (caller.kind !== 'session' || caller.user.platformRole === 'none') throw notFoundError()
  if (caller.session.level !== 'mfa') throw apiError('mfa_required', 'Support staff act only from a session that passed a second factor.')
  return caller
}

function personOnly(caller: Caller): SessionCaller {
  if (caller.kind !== 'session') throw apiError('person_required', 'A person issues and revokes temporary access codes, with a session token: not an API key.')
  return caller
}

const validHours = z.number().int().min(ACCESS_CODE_MIN_HOURS).max(ACCESS_CODE_MAX_HOURS).optional()
  .describe(`How long the code works, in whole hours (${ACCESS_CODE_MIN_HOURS}-${ACCESS_CODE_MAX_HOURS}; default ${ACCESS_CODE_DEFAULT_HOURS})`)
const checks = z.array(z.enum(IDENTITY_CHECKS.map((c) => c.id) as [string, ...string[]])).max(20)
  .describe(`Identity checks done (at least 2): ${IDENTITY_CHECKS.map((c) => `${c.id} (${c.label})`).join('; ')}`)

const issuedSchema = z.object({
  status: z.literal('issued'),
  id: z.string().uuid(),
  code: z.string().describe('The code, shown this once: give it to the member directly. It works once, at the second step of a sign-in.'),
  expiresAt: dateTime,
  email: z.string(),
  noticeQueued: z.boolean().describe('Whether the email telling the member (with its freeze link) was queued'),
})
const issued = (c: IssuedCode) => ({ status: 'issued' as const, id: c.id, code: c.code, expiresAt: c.expiresAt.toISOString(), email: c.email, noticeQueued: c.noticeQueued })

const userParams = z.object({ userId: z.string().uuid() })

export const supportIssueAccessCodeEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/support/users/:userId/access-codes',
  tag: 'support',
  summary: 'Issue a temporary access code for an account (support)',
  description:
    'The same identity checks, reason and ticket as a reset. For an organization owner or admin (now or in the last 30 days) or a platform account, a second support person must approve it first: ' +
    'the answer is then `pending` with the request id; once approved, call again with `requestId` (and no reason) to get the code. Issuing revokes any earlier code of the account. ' +
    'Your own account: 403. Support staff only (404 for anyone else).',
  auth: 'session',
  params: userParams,
  body: z
    .object({
      reason: z.string().max(1000).optional(),
      ticket: z.string().max(200).optional(),
      checks: checks.optional(),
      validHours,
      requestId: z.string().uuid().optional().describe('The approved request (two-person rule) whose code to issue now'),
    })
    .strict(),
  response: z.union([issuedSchema, z.object({ status: z.literal('pending'), requestId: z.string().uuid(), why: z.string() })]),
  errors: ['invalid_request', 'forbidden', 'conflict', 'two_person_required', 'mfa_required'],
  transaction: false,
  async handler({ caller, params, body, meta }) {
    const { user } = supportOnly(caller)
    const actor = { id: user.id, email: user.email }
    if (body.requestId) return issued(await issueApprovedAccessCode({ actor, requestId: body.requestId, targetUserId: params.userId, validHours: body.validHours, meta }))
    const outcome = await supportIssueAccessCode({ actor, targetUserId: params.userId, reason: body.reason ?? '', ticket: body.ticket ?? '', checks: body.checks ?? [], validHours: body.validHours, meta })
    return outcome.status === 'pending' ? outcome : issued(outcome.issued)
  },
})

export const supportRevokeAccessCodeEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/support/users/:userId/access-codes',
  tag: 'support',
  summary: 'Revoke the account’s temporary access code before it is used (support)',
  description: 'The live code stops working at once (audited as auth.temporary_access_revoked). 409 when there is none: it was used, has expired or was already revoked.',
  auth: 'session',
  params: userParams,
  response: z.object({ revoked: z.literal(true) }),
  errors: ['conflict', 'mfa_required'],
  transaction: false,
  async handler({ caller, params, meta }) {
    const { user } = supportOnly(caller)
    await supportRevokeAccessCode({ actor: { id: user.id, email: user.email }, targetUserId: params.userId, meta })
    return { revoked: true as const }
  },
})

export const orgIssueAccessCodeEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/members/:userId/access-codes',
  tag: 'organizations',
  summary: 'Issue a temporary access code for a plain member (organization admins)',
  description:
    'For a member who is a plain member in every organization (for 30 days) and holds no platform role, as for a reset; anyone else answers 403 two_person_required (ask support). ' +
    'The same identity checks and reason as a reset; the ticket is optional. Issuing revokes any earlier code of the member.',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  params: userParams,
  body: z.object({ reason: z.string().max(1000), ticket: z.string().max(200).optional(), checks, validHours }).strict(),
  response: issuedSchema,
  errors: ['invalid_request', 'forbidden', 'two_person_required', 'person_required'],
  transaction: false,
  async handler({ caller, params, body, meta, org }) {
    const { user } = personOnly(caller)
    return issued(await orgAdminIssueAccessCode({ actor: { id: user.id, email: user.email }, org: org.org, scope: org.scope, targetUserId: params.userId, reason: body.reason, ticket: body.ticket, checks: body.checks, validHours: body.validHours, meta }))
  },
})

export const orgRevokeAccessCodeEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/organizations/:orgId/members/:userId/access-codes',
  tag: 'organizations',
  summary: 'Revoke a plain member’s temporary access code before it is used (organization admins)',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  params: userParams,
  response: z.object({ revoked: z.literal(true) }),
  errors: ['conflict', 'forbidden', 'two_person_required', 'person_required'],
  transaction: false,
  async handler({ caller, params, meta, org }) {
    const { user } = personOnly(caller)
    await orgAdminRevokeAccessCode({ actor: { id: user.id, email: user.email }, org: org.org, scope: org.scope, targetUserId: params.userId, meta })
    return { revoked: true as const }
  },
})
