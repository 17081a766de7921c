import type { ApiData } from '#app/api/define.server.ts'
import type { regenerateCodesEndpoint, statusEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, prompt, serverUrl } from './_client.ts'

export default defineCommand({
  name: '2fa backup-codes',
  group: 'client',
  summary: 'how many recovery (backup) codes you have left; --regenerate makes a new set',
  usage: '[--url URL] [--regenerate [--code C]]',
  description:
    'Prints how many of your recovery codes are unused. With --regenerate, replaces them with 10 new ones (the old ones stop working) after a code: ' +
    'a current app code or a recovery code. A member whose only factor is email may hold backup codes too: without --code, the session must have signed in with the email code in the last 5 minutes.',
  options: {
    url: URL_OPTION,
    regenerate: { type: 'boolean', description: 'make a new set of 10 codes (shown once)' },
    code: { type: 'string', placeholder: 'code', description: 'with --regenerate: the step-up code (asked for when you have an app or key)' },
  },
  examples: ['gatehouse 2fa backup-codes', 'gatehouse 2fa backup-codes --regenerate', 'gatehouse 2fa backup-codes --json'],
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const status = await api<ApiData<typeof statusEndpoint>>(base, '/api/auth/2fa/status', { token })
    if (!values.regenerate) {
      print({ backupCodesRemaining: status.backupCodesRemaining, enabled: status.enabled }, [
        `Recovery codes left: ${status.backupCodesRemaining} of 10`,
        ...(status.backupCodesRemaining <= 3 ? ['Running low: run "gatehouse 2fa backup-codes --regenerate".'] : []),
      ])
      return
    }
    const given = typeof values.code === 'string' && values.code.trim() ? values.code.trim() : undefined
    // With an app or key a code is the step-up; an email-only member may rely on a fresh email sign-in.
    const code = given ?? (status.enabled ? await prompt('Code from your authenticator app, or a recovery code', { secret: true }) : undefined)
    const { backupCodes } = await api<ApiData<typeof regenerateCodesEndpoint>>(base, '/api/auth/2fa/backup-codes/regenerate', { body: code ? { code } : {}, token })
    print({ ok: true, backupCodes, backupCodesRemaining: backupCodes.length }, ['New recovery codes (any earlier ones no longer work). Save them now; they are not shown again:', ...backupCodes.map((c) => `  ${c}`)])
  },
})
