import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

const NAMES: Record<string, string> = { totp: 'authenticator app', webauthn: 'security key', email: 'email code' }

export default defineCommand({
  name: '2fa status',
  group: 'client',
  summary: 'show whether two-step verification is on, and recovery codes left',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const s = await api<{ enabled: boolean; method: string | null; methods: string[]; backupCodesRemaining: number; lastUsedAt: string | null }>(serverUrl(values), '/api/auth/2fa/status', { token: currentToken() })
    print(s, [
      `Two-step verification: ${s.enabled ? 'on' : 'off'}`,
      ...(s.enabled ? [`Factors: ${s.methods.map((m) => NAMES[m] ?? m).join(', ')}`, `Preferred: ${s.method ? (NAMES[s.method] ?? s.method) : 'none'}`] : []),
      `Recovery codes left: ${s.backupCodesRemaining}`,
      `Last used: ${s.lastUsedAt ?? 'never'}`,
    ])
  },
})
