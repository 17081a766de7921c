import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

type Credential = { id: string; name: string; createdAt: string; lastUsedAt: string | null }

export default defineCommand({
  name: 'keys list',
  group: 'client',
  summary: 'list your security keys and passkeys',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const { credentials } = await api<{ credentials: Credential[] }>(serverUrl(values), '/api/auth/webauthn/credentials', { token: currentToken() })
    print(
      { credentials },
      credentials.length
        ? credentials.map((k) => `${k.id}  ${k.name}  added ${k.createdAt.slice(0, 10)}  last used ${k.lastUsedAt?.slice(0, 10) ?? 'never'}`)
        : 'No security keys. Add one on the web (Settings → Security → Security keys).',
    )
  },
})
