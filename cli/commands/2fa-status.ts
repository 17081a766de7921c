import type { ApiData } from '#app/api/define.server.ts'
import type { statusEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

const NAMES: Record<string, string> = { totp: 'authenticator app', webauthn: 'security key', email: 'email code' }

export default defineCommand({
  name: '2fa status',
  group: 'client',
  summary: 'show whether two-factor authentication is on, and recovery codes left',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const s = await api<ApiData<typeof statusEndpoint>>(serverUrl(values), '/api/auth/2fa/status', { token: currentToken() })
    print(s, [
      `Two-factor authentication: ${s.enabled ? 'on' : 'off'}`,
      ...(s.enabled ? [`Factors: ${s.methods.map((m) => NAMES[m] ?? m).join(', ')}`, `Preferred: ${s.method ? (NAMES[s.method] ?? s.method) : 'none'}`] : []),
      `Recovery codes left: ${s.backupCodesRemaining}`,
      `Last used: ${s.lastUsedAt ?? 'never'}`,
    ])
  },
})
