import type { ApiData } from '#app/api/define.server.ts'
import type { setupEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { type AppEnabled as Enabled, reportAppEnabled } from './_2fa.ts'
import { ApiCallError, URL_OPTION, api, currentToken, prompt, serverUrl } from './_client.ts'

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
    reportAppEnabled(result, token, print)
  },
})
