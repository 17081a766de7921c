import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, prompt, serverUrl } from './_client.ts'

export default defineCommand({
  name: '2fa disable',
  group: 'client',
  summary: 'turn two-factor authentication off (asks for your password and a code)',
  description: 'Removes every authenticator app and security key, the recovery codes and remembered devices. Your organization may require two-factor authentication again at your next sign-in.',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const password = await prompt('Password', { secret: true })
    const code = await prompt('Code from your authenticator app, or a recovery code', { secret: true })
    await api(base, '/api/auth/2fa/disable', { body: { code, password }, token })
    print({ ok: true, disabled: true }, 'Two-factor authentication is off.')
  },
})
