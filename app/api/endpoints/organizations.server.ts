/** An organization's summary: what an admin sees on its overview page. */
import { z } from 'zod'
import { countMembersByRegion, listOrgRegions } from '#app/orgs/organizations.server.ts'
import { defineEndpoint } from '../define.server.ts'
import { organizationSchema } from './views.server.ts'

export const organizationEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId',
  tag: 'organizations',
  summary: 'The organization, its regions with their MFA policy mode, and member counts',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['policy:read'] },
  response: z.object({
    organization: organizationSchema,
    regions: z.array(z.object({ region: z.string(), mode: z.enum(['disabled', 'optional', 'required']), members: z.number().int() })),
  }),
  async handler({ org }) {
    const [regions, counts] = await Promise.all([listOrgRegions(org.scope), countMembersByRegion(org.scope)])
    return {
      organization: { id: org.org.id, slug: org.org.slug, name: org.org.name },
      regions: regions.map((r) => ({ region: r.region, mode: r.mode, members: counts.find((c) => c.region === r.region)?.members ?? 0 })),
    }
  },
})
