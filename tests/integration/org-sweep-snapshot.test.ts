/**
 * The "nothing written" snapshot used by the API bad-input and cross-organization tests must see
 * an UPDATE that leaves every row count as it was, and must not flag what merely using a session
 * or an API key touches (last seen, idle expiry, last used).
 */
import { eq } from 'drizzle-orm'
import { beforeAll, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { snapshot } from '#tests/setup/org-sweep.ts'

let org: Awaited<ReturnType<typeof createOrg>>
let user: Awaited<ReturnType<typeof createUser>>
beforeAll(async () => {
  org = await createOrg({ regions: ['us', 'eu'] })
  user = await createUser({ org, role: 'admin' })
  await createSession({ userId: user.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
})

it('sees an UPDATE that changes no row count, and names the table', async () => {
  const before = await snapshot()
  expect(await snapshot()).toEqual(before)
  await db.update(schema.regionPolicies).set({ gracePeriodDays: 21 }).where(eq(schema.regionPolicies.organizationId, org.id))
  const after = await snapshot()
  expect(after).not.toEqual(before)
  expect(Object.keys(after).filter((t) => after[t] !== before[t])).toEqual(['region_policies'])
  expect(after.region_policies.split(',')[0]).toBe(before.region_policies.split(',')[0]) // same count: "2 rows"

  await db.update(schema.users).set({ name: 'Renamed' }).where(eq(schema.users.id, user.id))
  const renamed = await snapshot()
  // The members read model keeps the name beside each membership, in the same transaction (decision 076).
  expect(Object.keys(renamed).filter((t) => renamed[t] !== after[t]).sort()).toEqual(['memberships', 'users'])
})

it('ignores a session being seen (last_seen_at, idle expiry) but not its level changing', async () => {
  const before = await snapshot()
  await db.update(schema.sessions).set({ lastSeenAt: new Date(Date.now() + 1000), idleExpiresAt: new Date(Date.now() + 3_600_000) }).where(eq(schema.sessions.userId, user.id))
  expect(await snapshot()).toEqual(before)
  await db.update(schema.sessions).set({ level: 'password' }).where(eq(schema.sessions.userId, user.id))
  expect((await snapshot()).sessions).not.toBe(before.sessions)
})
