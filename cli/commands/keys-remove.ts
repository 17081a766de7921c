import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, prompt, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'keys remove',
  group: 'client',
  summary: 'remove one of your security keys (asks for a code first)',
  usage: '<id>',
  positionals: [{ name: 'id', description: 'the key id from "gatehouse keys list"' }],
  options: { url: URL_OPTION, id: { type: 'string', placeholder: 'id', description: 'the key id (or give it as the argument)' } },
  async run({ values, positionals, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const id = positionalOrOption(values, positionals, 'id')
    const code = await prompt('Code from your authenticator app, or a recovery code', { secret: true })
    await api(base, `/api/auth/webauthn/credentials/${encodeURIComponent(id)}`, { method: 'DELETE', body: { code }, token })
    print({ ok: true, removed: id }, `Removed security key ${id}.`)
  },
})
