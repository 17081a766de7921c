import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, prompt, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'keys remove',
  group: 'client',
  summary: 'remove one of your security keys (asks for a code), or with --org revoke an API key',
  usage: '<id> [--org SLUG]',
  positionals: [{ name: 'id', description: 'the key id from "gatehouse keys list"' }],
  options: {
    url: URL_OPTION,
    id: { type: 'string', placeholder: 'id', description: 'the key id (or give it as the argument)' },
    org: { type: 'string', placeholder: 'slug', description: 'revoke this organization’s API key instead (owners and admins)' },
  },
  async run({ values, positionals, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const id = positionalOrOption(values, positionals, 'id')
    if (typeof values.org === 'string' && values.org.trim()) {
      await api(base, `/api/organizations/${encodeURIComponent(values.org.trim())}/api-keys/${encodeURIComponent(id)}`, { method: 'DELETE', token })
      print({ ok: true, revoked: id }, `Revoked API key ${id}; it stopped working at once.`)
      return
    }
    const code = await prompt('Code from your authenticator app, or a recovery code', { secret: true })
    await api(base, `/api/auth/webauthn/credentials/${encodeURIComponent(id)}`, { method: 'DELETE', body: { code }, token })
    print({ ok: true, removed: id }, `Removed security key ${id}.`)
  },
})
