import { CommandError, NotFoundError, UsageError, defineCommand, optionalString, requireString } from '../registry.ts'
import { checkRegion } from './_shared.ts'

/** Reads a password from the terminal without echoing it. */
async function promptPassword(label: string): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError('give --password, or run in a terminal to be asked for it')
  const { createInterface } = await import('node:readline')
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  const muted = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream }
  let asking = true
  muted._writeToOutput = (s: string) => {
    if (!asking || s.includes(label)) process.stderr.write(s)
  }
  try {
    return await new Promise<string>((resolve) => rl.question(label, (answer) => resolve(answer)))
  } finally {
    asking = false
    process.stderr.write('\n')
    rl.close()
  }
}

export default defineCommand({
  name: 'create-user',
  summary: 'create an account (a person, or a service account with --service-account)',
  usage: '--region R --email E --name N [--password P | (asked)] [--service-account] [--org slug [--role member]]',
  description: 'A person needs a password: give --password, or leave it out to be asked (not echoed). A service account has no password: it signs in with API keys.',
  options: {
    region: { type: 'string', placeholder: 'code', description: 'region of the account', required: true },
    email: { type: 'string', placeholder: 'email', description: 'email address (unique per region)', required: true },
    name: { type: 'string', placeholder: 'name', description: 'display name (default: the part before @)' },
    password: { type: 'string', placeholder: 'password', description: 'password of a person (at least 12 characters); asked for when left out' },
    'service-account': { type: 'boolean', description: 'a service account (no password, may be exempted from the MFA policy)' },
    org: { type: 'string', placeholder: 'slug', description: 'also add the account to this organization' },
    role: { type: 'string', placeholder: 'role', description: 'role in --org: member (default), admin or owner' },
  },
  examples: ['gatehouse create-user --region eu --email ana@example.com --name "Ana" --org acme --role admin', 'gatehouse create-user --region us --email deploy-bot@acme.test --service-account --org acme'],
  async run({ values, print }) {
    const region = requireString(values, 'region')
    const email = requireString(values, 'email').toLowerCase()
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new UsageError(`--email "${email}" is not an email address`)
    const service = Boolean(values['service-account'])
    const name = optionalString(values, 'name') ?? email.split('@')[0]
    const orgSlug = optionalString(values, 'org')
    const role = optionalString(values, 'role') ?? 'member'
    if (!['member', 'admin', 'owner'].includes(role)) throw new UsageError(`--role must be member, admin or owner, not "${role}"`)
    if (values.role !== undefined && !orgSlug) throw new UsageError('--role needs --org')
    await checkRegion(region)
    const { PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, hashPassword } = await import('#app/auth/password.server.ts')
    let passwordHash: string | null = null
    if (service) {
      if (values.password !== undefined) throw new UsageError('a service account has no password: leave out --password')
    } else {
      const password = typeof values.password === 'string' ? values.password : await promptPassword('Password for the new account: ')
      if (password.length < PASSWORD_MIN_LENGTH) throw new UsageError(`the password needs at least ${PASSWORD_MIN_LENGTH} characters`)
      if (password.length > PASSWORD_MAX_LENGTH) throw new UsageError('the password is too long')
      passwordHash = await hashPassword(password)
    }
    const { and, eq } = await import('drizzle-orm')
    const { db, schema } = await import('#db/client.ts')
    const user = await db.transaction(async (tx) => {
      const [existing] = await tx.select({ id: schema.users.id }).from(schema.users).where(and(eq(schema.users.region, region), eq(schema.users.email, email)))
      if (existing) throw new CommandError(`an account ${email} already exists in region ${region}`)
      let orgId: string | undefined
      if (orgSlug) {
        const [org] = await tx.select({ id: schema.organizations.id }).from(schema.organizations).where(eq(schema.organizations.slug, orgSlug))
        if (!org) throw new NotFoundError(`no organization "${orgSlug}"`)
        orgId = org.id
      }
      const [created] = await tx.insert(schema.users).values({ region, email, name, passwordHash, kind: service ? 'service' : 'human' }).returning()
      // Straight into the organization: the operator creates the membership, nothing is invited (decision 055).
      if (orgId) await tx.insert(schema.memberships).values({ userId: created.id, organizationId: orgId, role: role as 'member' | 'admin' | 'owner' })
      if (orgId && service) {
        const { recordAudit, systemActor } = await import('#app/audit/record.server.ts')
        await recordAudit({ action: 'org.service_account_created', actor: systemActor('cli'), organizationId: orgId, subjectId: created.id, details: { email, name, region } }, tx)
      }
      return created
    })
    print(
      { ok: true, id: user.id, region, email, name, kind: user.kind, organization: orgSlug ?? null, role: orgSlug ? role : null },
      `Created ${service ? 'service account' : 'account'} ${email} in region ${region}${orgSlug ? `, ${role} of ${orgSlug}` : ''}: ${user.id}`,
    )
  },
})
