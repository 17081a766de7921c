import { UsageError, defineCommand, optionalString, requireString } from '../registry.ts'
import { EMAIL_OPTION, REGION_OPTION, findAccount } from './_shared.ts'

export default defineCommand({
  name: 'reset-mfa',
  summary: 'emergency reset of a member’s two-factor authentication when nobody can sign in (same effects as a support reset)',
  usage: '--region R --email E --reason "..." [--ticket T]',
  description: [
    'Removes every authenticator app, security key, recovery code and remembered device of the account,',
    'ends every session, makes the next sign-in ask for an email code, and emails the member (with a',
    '"freeze my account" link; the workers must be running to send it). Audited as',
    'auth.totp_disabled_by_admin with actor "cli", the reason and the ticket.',
  ].join('\n'),
  options: {
    region: REGION_OPTION,
    email: EMAIL_OPTION,
    reason: { type: 'string', placeholder: 'text', description: 'why (at least 10 characters; goes in the audit log)', required: true },
    ticket: { type: 'string', placeholder: 'ref', description: 'ticket reference' },
  },
  examples: ['gatehouse reset-mfa --region us --email owner@acme.test --reason "Only owner lost phone; identity checked on video call" --ticket OPS-42'],
  async run({ values, print }) {
    const reason = requireString(values, 'reason')
    const ticket = optionalString(values, 'ticket') ?? null
    const { resetInputErrors, resetMfa } = await import('#app/support/reset.server.ts')
    const errors = resetInputErrors('cli', { reason, ticket })
    if (Object.keys(errors).length) throw new UsageError(Object.entries(errors).map(([k, v]) => `--${k}: ${v}`).join('; '))
    const user = await findAccount(values)
    const result = await resetMfa({ targetUserId: user.id, by: { kind: 'cli' }, reason, ticket })
    const r = result.removed
    print(
      { ok: true, id: user.id, email: user.email, region: user.region, removed: r, noticeQueued: result.noticeQueued },
      [
        `Reset two-factor authentication of ${user.email} (${user.region}).`,
        `  removed: ${r.totp} authenticator app, ${r.webauthn} security key(s), ${r.recoveryCodes} unused recovery code(s), ${r.trustedDevices} remembered device(s)`,
        `  ended ${r.sessions} session(s); the next sign-in asks for an email code`,
        result.noticeQueued ? '  notice queued to the member' : '  WARNING: the notice could not be queued (Redis unreachable); tell the member yourself',
      ],
    )
  },
})
