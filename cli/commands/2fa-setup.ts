import type { ApiData } from '#app/api/define.server.ts'
import type { setupEndpoint, verifyEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { ApiCallError, URL_OPTION, api, currentToken, prompt, readCredentials, saveCredentials, serverUrl } from './_client.ts'

type Enabled = Extract<ApiData<typeof verifyEndpoint>, { enabled: true }>

export default defineCommand({
  name: '2fa setup',
  group: 'client',
  summary: 'set up an authenticator app: shows a QR code and the secret, then asks for a code',
  description:
    'Scan the QR code (or type the secret) into your authenticator app, then enter the 6-digit code it shows. The first app or key gives you 10 recovery codes: keep them safe. ' +
    'If you already have a factor, sign in again with it first (a fresh second factor is needed to add one).',
  options: { url: URL_OPTION },
  async run({ values, json, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const setup = await api<ApiData<typeof setupEndpoint>>(base, '/api/auth/2fa/setup', { method: 'POST', token })
    const out = json ? process.stderr : process.stdout
    if (!json) {
      const QRCode = (await import('qrcode')).default
      out.write((await QRCode.toString(setup.uri, { type: 'terminal', small: true })) + '\n')
    }
    out.write(`Secret: ${setup.secret}\nURI: ${setup.uri}\n`)
    let result: Enabled
    for (let attempt = 1; ; attempt++) {
      const code = await prompt('Code from your authenticator app', { secret: true })
      try {
        result = await api<Enabled>(base, '/api/auth/2fa/verify', { body: { code }, token })
        break
      } catch (e) {
        if (e instanceof ApiCallError && e.failure.code === 'invalid_code' && attempt < 5 && process.stdin.isTTY) {
          process.stderr.write(`${e.message}\n`)
          continue
        }
        throw e
      }
    }
    // An enrollment-only token is replaced by a full one once the member has an allowed factor.
    const saved = readCredentials()
    if (result.token && saved && saved.token === token) saveCredentials({ ...saved, token: result.token, enrollmentOnly: false, savedAt: new Date().toISOString() })
    const lines = ['Authenticator app is on.']
    if (result.backupCodes.length) {
      lines.push('', 'Recovery codes — each works once, if you lose your phone. Save them somewhere safe now; they are not shown again:', ...result.backupCodes.map((c) => `  ${c}`))
    } else lines.push(`You keep your ${result.backupCodesRemaining} remaining recovery codes.`)
    print({ ok: true, enabled: true, backupCodes: result.backupCodes, backupCodesRemaining: result.backupCodesRemaining, tokenRenewed: Boolean(result.token) }, lines)
  },
})
