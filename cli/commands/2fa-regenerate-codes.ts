import type { ApiData } from '#app/api/define.server.ts'
import type { regenerateCodesEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, prompt, serverUrl } from './_client.ts'

export default defineCommand({
  name: '2fa regenerate-codes',
  group: 'client',
  summary: 'replace your recovery codes with 10 new ones (asks for a code first)',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const code = await prompt('Code from your authenticator app, or a recovery code', { secret: true })
    const { backupCodes } = await api<ApiData<typeof regenerateCodesEndpoint>>(base, '/api/auth/2fa/backup-codes/regenerate', { body: { code }, token })
    print({ ok: true, backupCodes }, ['New recovery codes (the old ones no longer work). Save them now; they are not shown again:', ...backupCodes.map((c) => `  ${c}`)])
  },
})
