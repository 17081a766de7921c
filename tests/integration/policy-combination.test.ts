/**
 * A second organization of the member tries to lower what Acme asks at sign-in (decision 054),
 * through the real server: the JSON API sign-in, a password and nothing else.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

type Policy = Partial<typeof schema.regionPolicies.$inferInsert>
async function setPolicy(orgId: string, values: Policy) {
  await db.update(schema.regionPolicies).set(values).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, 'us')))
}

/** A member of Acme (with `acme` policy and an app when `app`), also a member of Evil (with `evil` policy). */
async function memberOfBoth(acme: Policy, evil: Policy, app = true) {
  const acmeOrg = await createOrg({ name: 'Acme' })
  const evilOrg = await createOrg({ name: 'Evil' })
  const user = await createUser({ org: acmeOrg })
  // The app first, while every policy allows it; then the policies.
  if (app) await enableTotp(user.id)
  await db.insert(schema.memberships).values({ userId: user.id, organizationId: evilOrg.id, joinedAt: ago(60) })
  await db.update(schema.memberships).set({ joinedAt: ago(60) }).where(eq(schema.memberships.userId, user.id))
  await setPolicy(acmeOrg.id, acme)
  await setPolicy(evilOrg.id, evil)
  return user
}

const signIn = (email: string) => apiCall(base, '/api/auth/signin', { json: { email, password: PASSWORD, region: 'us' } })

describe('another organization of the member cannot lower what sign-in asks', () => {
  it('narrowing the allowed methods to email (Optional): the app is still asked', async () => {
    const user = await memberOfBoth({ mode: 'optional' }, { mode: 'optional', allowedMethods: ['email'] })
    const res = await signIn(user.email)
    expect(res.status).toBe(200)
    expect(res.body.data.token).toBeUndefined()
    expect(res.body.data).toMatchObject({ requires2FA: true, method: 'totp' })
    expect(res.body.data.methods).toContain('totp')
  })

  it('setting Disabled: the app is still asked', async () => {
    const user = await memberOfBoth({ mode: 'optional' }, { mode: 'disabled' })
    const res = await signIn(user.email)
    expect(res.body.data).toMatchObject({ requires2FA: true, method: 'totp' })
  })

  it('requiring only keys, past the deadline: the app is proven first, never the mailbox alone', async () => {
    const user = await memberOfBoth({ mode: 'optional' }, { mode: 'required', allowedMethods: ['webauthn'], requiredSince: ago(30), onDeadline: 'force_enrollment' })
    const res = await signIn(user.email)
    expect(res.body.data).toMatchObject({ requires2FA: true, method: 'totp' })
    expect(res.body.data.methods).not.toContain('email')
    const email = await apiCall(base, '/api/auth/2fa/email', { json: { challengeId: res.body.data.challengeId } })
    expect(email.status).toBe(403)
    expect(email.body.error.code).toBe('method_unavailable')
  })

  it('allowing email where Acme does not: the email code is not offered', async () => {
    const user = await memberOfBoth({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: ago(30) }, { mode: 'required', requiredSince: ago(1) })
    const res = await signIn(user.email)
    expect(res.body.data.methods).toEqual(['totp', 'recovery_code'].filter((m) => res.body.data.methods.includes(m)))
    expect(res.body.data.methods).not.toContain('email')
  })

  it('a member Acme asks an email code of is not let in with a password alone when Evil requires an app', async () => {
    const user = await memberOfBoth({ mode: 'required', requiredSince: ago(30) }, { mode: 'required', allowedMethods: ['totp'], requiredSince: ago(1) }, false)
    const res = await signIn(user.email)
    expect(res.body.data.token).toBeUndefined()
    expect(res.body.data).toMatchObject({ requires2FA: true, methods: ['email'] })
  })
})
