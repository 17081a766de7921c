import type { ApiData } from '#app/api/define.server.ts'
import type { listApiKeysEndpoint } from '#app/api/endpoints/api-keys.server.ts'
import type { listCredentialsEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'


const day = (iso: string | null) => iso?.slice(0, 10) ?? 'never'

export default defineCommand({
  name: 'keys list',
  group: 'client',
  summary: 'list your security keys, or with --org an organization’s API keys',
  usage: '[--org SLUG]',
  options: {
    url: URL_OPTION,
    org: { type: 'string', placeholder: 'slug', description: 'list this organization’s API keys instead (owners and admins)' },
  },
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    if (typeof values.org === 'string' && values.org.trim()) {
      const { apiKeys } = await api<ApiData<typeof listApiKeysEndpoint>>(base, `/api/organizations/${encodeURIComponent(values.org.trim())}/api-keys`, { token })
      print(
        { apiKeys },
        apiKeys.length
          ? apiKeys.map((k) => `${k.id}  ${k.prefix}…  ${k.name}  ${k.serviceAccount.email}  ${k.scopes.join(',')}  last used ${day(k.lastUsedAt)}${k.revokedAt ? `  REVOKED ${day(k.revokedAt)}` : ''}`)
          : 'No API keys.',
      )
      return
    }
    const { credentials } = await api<ApiData<typeof listCredentialsEndpoint>>(base, '/api/auth/webauthn/credentials', { token })
    print(
      { credentials },
      credentials.length
        ? credentials.map((k) => `${k.id}  ${k.name}  added ${day(k.createdAt)}  last used ${day(k.lastUsedAt)}`)
        : 'No security keys. Add one on the web (Settings → Security → Security keys).',
    )
  },
})
