/**
 * Demo data, fixed so that docs and tests can name it. Idempotent: running it again resets the
 * demo accounts' passwords and memberships but keeps everything else.
 */
import { fileURLToPath } from 'node:url'
import { and, eq } from 'drizzle-orm'
import { hashPassword } from '#app/auth/password.server.ts'
import { config } from '#app/config/env.server.ts'
import { db, schema, type Tx } from './client.ts'

export const DEMO_PASSWORD = 'correct horse battery staple'

export const DEMO_ORGS = [
  { slug: 'acme', name: 'Acme Corporation', regions: ['us', 'eu'] },
  { slug: 'globex', name: 'Globex', regions: ['eu'] },
] as const

export const DEMO_USERS = [
  { email: 'owner@acme.test', name: 'Olivia Owner', region: 'us', org: 'acme', role: 'owner' },
  { email: 'admin@acme.test', name: 'Adam Admin', region: 'us', org: 'acme', role: 'admin' },
  { email: 'member@acme.test', name: 'Mia Member', region: 'us', org: 'acme', role: 'member' },
  { email: 'eu.member@acme.test', name: 'Emil Europa', region: 'eu', org: 'acme', role: 'member' },
  { email: 'member@globex.test', name: 'Greta Globex', region: 'eu', org: 'globex', role: 'member' },
  { email: 'ci-bot@acme.test', name: 'CI Bot', region: 'us', org: 'acme', role: 'member', kind: 'service' },
  { email: 'support@gatehouse.test', name: 'Sam Support', region: 'us', platformRole: 'support' },
] as const

export async function seedDemo(tx: Tx = db) {
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  const orgIds = new Map<string, string>()
  for (const o of DEMO_ORGS) {
    const [org] = await tx
      .insert(schema.organizations)
      .values({ slug: o.slug, name: o.name })
      .onConflictDoUpdate({ target: schema.organizations.slug, set: { name: o.name } })
      .returning()
    orgIds.set(o.slug, org.id)
    for (const region of o.regions) {
      // Every region starts as the default policy: optional, all methods, 7 days of grace.
      await tx.insert(schema.regionPolicies).values({ organizationId: org.id, region }).onConflictDoNothing()
    }
  }
  for (const u of DEMO_USERS) {
    const values = {
      email: u.email,
      name: u.name,
      region: u.region,
      passwordHash,
      kind: 'kind' in u ? u.kind : ('human' as const),
      platformRole: 'platformRole' in u ? u.platformRole : ('none' as const),
    }
    const [user] = await tx
      .insert(schema.users)
      .values(values)
      .onConflictDoUpdate({ target: [schema.users.region, schema.users.email], set: { passwordHash, lockedUntil: null, failedAttempts: 0 } })
      .returning()
    if ('org' in u) {
      const organizationId = orgIds.get(u.org)!
      await tx
        .insert(schema.memberships)
        .values({ userId: user.id, organizationId, role: u.role })
        .onConflictDoUpdate({ target: [schema.memberships.organizationId, schema.memberships.userId], set: { role: u.role } })
    }
  }
  return { orgIds }
}

/**
 * The demo identity provider for globex (decision 075): `npm run demo` runs it on DEMO_IDP_PORT
 * (default 3100) with these users; the seed points globex's SSO at it and trusts its MFA in EU.
 */
export const DEMO_IDP = {
  port: Number(process.env.DEMO_IDP_PORT ?? 3100),
  clientId: 'gatehouse-demo',
  // A development-only secret, like the rest of the demo's: it is stored encrypted all the same.
  clientSecret: 'demo-client-secret-for-development-only',
  users: [
    { id: 'gina', email: 'gina@globex.test', name: 'Gina Password-only', amr: ['pwd'] },
    { id: 'otto', email: 'otto@globex.test', name: 'Otto One-time-code', amr: ['pwd', 'otp'] },
    { id: 'greta', email: 'member@globex.test', name: 'Greta Globex', amr: ['pwd', 'otp'] },
  ],
}
export const demoIdpIssuer = () => `http://localhost:${DEMO_IDP.port}`

/** Points globex's single sign-on at the demo provider (globex.test, SSO optional) and trusts its MFA in EU. */
export async function seedDemoSso() {
  const { encryptSecret } = await import('#app/auth/crypto.server.ts')
  const [globex] = await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'globex'))
  const secret = encryptSecret(DEMO_IDP.clientSecret, { column: 'sso_configs.client_secret_ciphertext', userId: globex.id })
  const values = { region: 'eu', issuer: demoIdpIssuer(), clientId: DEMO_IDP.clientId, clientSecretCiphertext: secret.ciphertext, keyId: secret.keyId, ssoRequired: false, updatedAt: new Date() }
  await db.insert(schema.ssoConfigs).values({ organizationId: globex.id, ...values }).onConflictDoUpdate({ target: schema.ssoConfigs.organizationId, set: values })
  // The demo's domain is marked verified directly (no DNS in the demo): decision 080.
  await db.insert(schema.ssoDomains).values({ domain: 'globex.test', organizationId: globex.id, verificationToken: (await import('node:crypto')).randomBytes(20).toString('hex'), verifiedAt: new Date() })
    .onConflictDoUpdate({ target: [schema.ssoDomains.domain, schema.ssoDomains.organizationId], set: { verifiedAt: new Date() } })
  await db.update(schema.regionPolicies).set({ trustIdpMfa: true }).where(and(eq(schema.regionPolicies.organizationId, globex.id), eq(schema.regionPolicies.region, 'eu')))
}

export async function findDemoUser(email: string) {
  const u = DEMO_USERS.find((d) => d.email === email)
  if (!u) throw new Error(`not a demo user: ${email}`)
  const [user] = await db.select().from(schema.users).where(and(eq(schema.users.email, email), eq(schema.users.region, u.region)))
  return user
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { runMigrations } = await import('./migrate.ts')
  await runMigrations()
  const { closeDb } = await import('./client.ts')
  await seedDemo()
  await seedDemoSso()
  await closeDb()
  console.log(`Demo data ready in ${new URL(config.databaseUrl).pathname.slice(1)}`)
}
