/**
 * rpID and origin come from the member's region, through the running server: this file starts it
 * with eu on an origin of its own (the environment is read when the server build loads, in
 * startTestApp). The challenge stored for a key registration or a key sign-in carries the rpID and
 * origin the browser's answer will be checked against.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { randomToken } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

const port = process.env.PORT!
const EU_ORIGIN = `http://eu.localhost:${port}`
process.env.GATEHOUSE_REGIONS = `us,eu=${EU_ORIGIN}`

let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

async function challengePayload(userId: string, purpose: 'webauthn_register' | 'webauthn_login') {
  const [row] = await db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, purpose)))
  return row?.payload as { rpID: string; origin: string } | undefined
}

/** A member of `region` with no factor, signed in with the password (a first key needs no step-up). */
async function signedInMember(region: string) {
  const user = await createUser({ region })
  const client = new TestClient(base)
  const res = await signIn(client, user.email, region)
  expect(res.status).toBe(302)
  expect(client.cookies.has('gh_session')).toBe(true)
  return { user, client }
}

describe('WebAuthn relying party by region', () => {
  it('registering a key: an EU member\'s challenge is for eu.localhost and the EU origin; a US member\'s for localhost', async () => {
    const eu = await signedInMember('eu')
    const us = await signedInMember('us')
    for (const { client } of [eu, us]) expect((await client.post('/settings/security/keys', { intent: 'webauthn_options', label: 'My key' })).status).toBe(200)
    expect(await challengePayload(eu.user.id, 'webauthn_register')).toMatchObject({ rpID: 'eu.localhost', origin: EU_ORIGIN })
    expect(await challengePayload(us.user.id, 'webauthn_register')).toMatchObject({ rpID: 'localhost', origin: base })
  })

  it('signing in with a key: the EU member\'s challenge is for the EU relying party', async () => {
    const user = await createUser({ region: 'eu' })
    await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: randomToken(16), publicKey: randomToken(32), label: 'EU key', deviceType: 'singleDevice' })
    await db.update(schema.users).set({ mfaEnabledAt: new Date() }).where(eq(schema.users.id, user.id))
    const client = new TestClient(base)
    expect((await signIn(client, user.email, 'eu')).headers.get('location')).toBe('/login/verify')
    expect((await client.post('/login/verify', { intent: 'webauthn_options' })).status).toBe(200)
    expect(await challengePayload(user.id, 'webauthn_login')).toMatchObject({ rpID: 'eu.localhost', origin: EU_ORIGIN })
  })
})
