/** Test data factories: accounts and organizations made directly in this file's database. */
import { randomBytes } from 'node:crypto'
import { hashPassword } from '#app/auth/password.server.ts'
import { db, schema } from '#db/client.ts'

export const PASSWORD = 'correct horse battery staple'

export async function createOrg(input: { slug?: string; name?: string; regions?: string[] } = {}) {
  const slug = input.slug ?? `org-${randomBytes(3).toString('hex')}`
  const [org] = await db.insert(schema.organizations).values({ slug, name: input.name ?? slug }).returning()
  for (const region of input.regions ?? ['us']) await db.insert(schema.regionPolicies).values({ organizationId: org.id, region })
  return org
}

export async function createUser(
  input: {
    email?: string
    name?: string
    region?: string
    password?: string | null
    kind?: 'human' | 'service'
    platformRole?: 'none' | 'support' | 'superadmin'
    org?: { id: string }
    role?: 'owner' | 'admin' | 'member'
  } = {},
) {
  const email = input.email ?? `user-${randomBytes(4).toString('hex')}@example.test`
  const [user] = await db
    .insert(schema.users)
    .values({
      email,
      name: input.name ?? email.split('@')[0],
      region: input.region ?? 'us',
      passwordHash: input.password === null ? null : await hashPassword(input.password ?? PASSWORD),
      kind: input.kind ?? 'human',
      platformRole: input.platformRole ?? 'none',
    })
    .returning()
  if (input.org) await db.insert(schema.memberships).values({ userId: user.id, organizationId: input.org.id, role: input.role ?? 'member' })
  return user
}
