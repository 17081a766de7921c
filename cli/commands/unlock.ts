import { CommandError, defineCommand, requireString } from '../registry.ts'
import { EMAIL_OPTION, REGION_OPTION, findAccount } from './_shared.ts'

export default defineCommand({
  name: 'unlock',
  summary: 'lift a lockout (or a frozen account) early',
  usage: '--region R --email E --reason "..."',
  description: 'Audited as support.unlock with actor "cli" and the reason. Exits 1 when the account is not locked.',
  options: {
    region: REGION_OPTION,
    email: EMAIL_OPTION,
    reason: { type: 'string', placeholder: 'text', description: 'why (goes in the audit log)', required: true },
  },
  async run({ values, print }) {
    const reason = requireString(values, 'reason')
    const user = await findAccount(values)
    const { unlockAccount } = await import('#app/support/unlock.server.ts')
    const { systemActor } = await import('#app/audit/record.server.ts')
    const { isDomainError } = await import('#app/errors.ts')
    const wasLockedUntil = await unlockAccount({ actor: systemActor('cli'), targetUserId: user.id, reason }).catch((e) => {
      // Not locked, or a reason too short: said about this account, exit 1.
      throw isDomainError(e) ? new CommandError(`${user.email} (${user.region}): ${e.message}`) : e
    })
    print({ ok: true, id: user.id, email: user.email, region: user.region, wasLockedUntil: wasLockedUntil.toISOString() }, `Unlocked ${user.email} (${user.region}); it was locked until ${wasLockedUntil.toISOString()}.`)
  },
})
