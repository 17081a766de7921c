import { UsageError, defineCommand, optionalString } from '../registry.ts'
import { EMAIL_OPTION, REGION_OPTION, findAccount } from './_shared.ts'

export default defineCommand({
  name: 'grant-support',
  summary: 'give an account the support (or superadmin) platform role, or take it away',
  usage: '--region R --email E [--role support|superadmin] [--revoke]',
  description: 'Support staff reach /support after their own second factor; they must enrol an app or a key. Every resetting of another staff account needs a second support person.',
  options: {
    region: REGION_OPTION,
    email: EMAIL_OPTION,
    role: { type: 'string', placeholder: 'role', description: 'support (default) or superadmin' },
    revoke: { type: 'boolean', description: 'take the platform role away (back to none)' },
  },
  async run({ values, print }) {
    const role = values.revoke ? 'none' : (optionalString(values, 'role') ?? 'support')
    if (values.revoke && values.role !== undefined) throw new UsageError('give either --role or --revoke')
    if (!['support', 'superadmin', 'none'].includes(role)) throw new UsageError(`--role must be support or superadmin, not "${role}"`)
    const user = await findAccount(values)
    if (user.kind === 'service') throw new UsageError('a service account cannot be support staff')
    const { eq } = await import('drizzle-orm')
    const { db, schema } = await import('#db/client.ts')
    const { recordAudit, systemActor } = await import('#app/audit/record.server.ts')
    await db.transaction(async (tx) => {
      await tx.update(schema.users).set({ platformRole: role as 'none' | 'support' | 'superadmin' }).where(eq(schema.users.id, user.id))
      // Staff sessions were opened under the old role: end them so the new one applies at once.
      const { endAllSessions } = await import('#app/auth/session.server.ts')
      await endAllSessions(user.id, tx)
      await recordAudit({ action: 'platform.role_changed', actor: systemActor('cli'), subjectId: user.id, details: { from: user.platformRole, to: role } }, tx)
    })
    print({ ok: true, id: user.id, email: user.email, region: user.region, from: user.platformRole, to: role }, `${user.email} (${user.region}): platform role ${user.platformRole} → ${role}`)
  },
})
