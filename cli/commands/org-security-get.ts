import type { ApiData } from '#app/api/define.server.ts'
import type { getSecurityEndpoint } from '#app/api/endpoints/security.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, serverUrl } from './_client.ts'

export type Security = ApiData<typeof getSecurityEndpoint>
export type RegionPolicy = Security['regions'][number]

export const describePolicy = (p: RegionPolicy) =>
  `${p.region.toUpperCase()}: ${p.mode}${p.mode === 'required' && p.requiredSince ? ` since ${p.requiredSince.slice(0, 10)}` : ''} — methods ${p.allowedMethods.join(', ')}; grace ${p.gracePeriodDays} days; at the deadline ${p.onDeadline.replace('_', ' ')}; remember devices ${p.rememberDeviceDays} days`

export default defineCommand({
  name: 'org security get',
  group: 'client',
  summary: 'show an organization’s MFA policy in every region, and its exemptions',
  usage: '<org>',
  positionals: [{ name: 'org', description: 'the organization’s slug or id' }],
  options: { url: URL_OPTION, org: { type: 'string', placeholder: 'slug', description: 'the organization (or give it as the argument)' } },
  examples: ['gatehouse org security get acme', 'GATEHOUSE_TOKEN=ghk_... gatehouse org security get acme --json'],
  async run({ values, positionals, print }) {
    const org = positionalOrOption(values, positionals, 'org')
    const data = await api<Security>(serverUrl(values), `/api/organizations/${encodeURIComponent(org)}/security`, { token: currentToken() })
    print(data, [
      ...data.regions.map(describePolicy),
      '',
      data.exemptions.length ? 'Exemptions:' : 'No exemptions.',
      ...data.exemptions.map((e) => `  ${e.email ?? e.userId} (${e.region}) — ${e.reason}${e.expiresAt ? `, until ${e.expiresAt.slice(0, 10)}` : ''}`),
    ])
  },
})
