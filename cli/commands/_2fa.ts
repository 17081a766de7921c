/** What "2fa setup" and "2fa verify" share once the app is confirmed (not a verb: files starting with "_" are skipped). */
import type { ApiData } from '#app/api/define.server.ts'
import type { verifyEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { readCredentials, saveCredentials } from './_client.ts'

export type AppEnabled = Extract<ApiData<typeof verifyEndpoint>, { enabled: true }>

/**
 * The app is on: an enrollment-only token that just enrolled is replaced by the full one it got
 * (when it is the saved one), and the recovery codes are shown once, or how many are left.
 */
export function reportAppEnabled(result: AppEnabled, token: string, print: (data: unknown, text: string | string[]) => void) {
  const saved = readCredentials()
  if (result.token && saved && saved.token === token) saveCredentials({ ...saved, token: result.token, enrollmentOnly: false, savedAt: new Date().toISOString() })
  const lines = ['Authenticator app is on.']
  if (result.backupCodes.length) {
    lines.push('', 'Recovery codes — each works once, if you lose your phone. Save them somewhere safe now; they are not shown again:', ...result.backupCodes.map((c) => `  ${c}`))
  } else lines.push(`You keep your ${result.backupCodesRemaining} remaining recovery codes.`)
  print({ ok: true, enabled: true, backupCodes: result.backupCodes, backupCodesRemaining: result.backupCodesRemaining, tokenRenewed: Boolean(result.token) }, lines)
}
