/** Helpers shared by the operator verbs (not a verb: files starting with "_" are skipped). */
import { NotFoundError, UsageError, requireString, type Values } from '../registry.ts'

export const REGION_OPTION = { type: 'string', placeholder: 'code', description: 'the account\'s region (us, eu, ...)', required: true } as const
export const EMAIL_OPTION = { type: 'string', placeholder: 'email', description: 'the account\'s email address', required: true } as const

export async function checkRegion(region: string) {
  const { config } = await import('#app/config/env.server.ts')
  if (!config.regions.some((r) => r.code === region)) {
    throw new UsageError(`unknown region "${region}" (configured: ${config.regions.map((r) => r.code).join(', ')})`)
  }
}

/** The account named by --region and --email; NotFoundError (exit 3) when there is none. */
export async function findAccount(values: Values) {
  const region = requireString(values, 'region')
  const email = requireString(values, 'email').toLowerCase()
  await checkRegion(region)
  const { and, eq } = await import('drizzle-orm')
  const { db, schema } = await import('#db/client.ts')
  const [user] = await db.select().from(schema.users).where(and(eq(schema.users.region, region), eq(schema.users.email, email)))
  if (!user) throw new NotFoundError(`no account ${email} in region ${region}`)
  return user
}

export const when = (d: Date | null | undefined) => (d ? d.toISOString() : null)
