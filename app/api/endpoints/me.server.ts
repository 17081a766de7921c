/** Who the token belongs to, and what it may do. */
import { z } from 'zod'
import { listUserOrganizations } from '#app/orgs/organizations.server.ts'
import { API_SCOPES } from '#app/orgs/api-keys.server.ts'
import { orgRoleSchema } from '#app/orgs/members.schema.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { dateTime, organizationSchema, userSchema, userView } from './views.server.ts'

export const meEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/me',
  tag: 'auth',
  summary: 'The caller: the member (session token) or the service account and its key (API key)',
  auth: 'session_or_key',
  response: z.object({
    user: userSchema,
    organizations: z.array(organizationSchema.extend({ role: orgRoleSchema })),
    session: z.object({ level: z.enum(['password', 'mfa', 'enroll_only']), expiresAt: dateTime, secondFactorAt: dateTime.nullable() }).optional(),
    apiKey: z.object({ id: z.string().uuid(), name: z.string(), prefix: z.string(), scopes: z.array(z.enum(API_SCOPES)), organizationId: z.string().uuid() }).optional(),
  }),
  async handler({ caller }) {
    const organizations = await listUserOrganizations(caller.user.id)
    if (caller.kind === 'api_key') {
      const k = caller.apiKey
      return {
        user: userView(caller.user),
        // A key acts only within its own organization.
        organizations: organizations.filter((o) => o.id === k.organizationId),
        apiKey: { id: k.id, name: k.name, prefix: k.prefix, scopes: caller.scopes, organizationId: k.organizationId },
      }
    }
    const s = caller.session
    const expiresAt = s.idleExpiresAt < s.absoluteExpiresAt ? s.idleExpiresAt : s.absoluteExpiresAt
    return {
      user: userView(caller.user),
      organizations,
      session: { level: s.level, expiresAt: iso(expiresAt)!, secondFactorAt: iso(s.secondFactorAt) },
    }
  },
})
