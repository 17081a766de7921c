import type { ApiData } from '#app/api/define.server.ts'
import type { createServiceAccountEndpoint } from '#app/api/endpoints/invitations.server.ts'
import { UsageError, defineCommand, optionalString, requireString } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, readCredentials, readSettings, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'org service-account create',
  group: 'client',
  summary: 'create a service account of an organization (no password, never invited; owners and admins)',
  usage: '<org> --email E --name N [--region R]',
  positionals: [{ name: 'org', description: 'the organization’s slug or id' }],
  options: {
    url: URL_OPTION,
    org: { type: 'string', placeholder: 'slug', description: 'the organization (or give it as the argument)' },
    email: { type: 'string', placeholder: 'email', description: 'the service account’s address (must not belong to an account in that region)', required: true },
    name: { type: 'string', placeholder: 'name', description: 'its display name', required: true },
    region: { type: 'string', placeholder: 'code', description: 'its region (default: the region of your login)' },
  },
  examples: ['gatehouse org service-account create acme --email deploy-bot@acme.test --name "Deploy bot"'],
  async run({ values, positionals, print }) {
    const org = positionalOrOption(values, positionals, 'org')
    const region = optionalString(values, 'region') ?? readCredentials()?.region ?? readSettings().region
    if (!region) throw new UsageError('give --region')
    const body = { email: requireString(values, 'email'), name: requireString(values, 'name'), region }
    const data = await api<ApiData<typeof createServiceAccountEndpoint>>(serverUrl(values), `/api/organizations/${encodeURIComponent(org)}/service-accounts`, { token: currentToken(), body })
    const s = data.serviceAccount
    print(data, `Created service account ${s.email} (${s.region.toUpperCase()}) in ${org}: ${s.id}`)
  },
})
