/** The admin page /orgs/:slug/api-keys: issue (shown once), step-up for write scopes, revoke with confirmation. */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { passedSecondFactorAtSignIn } from '#tests/factories/security.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

async function adminClient() {
  const client = new TestClient(base)
  expect((await signIn(client, 'admin@acme.test')).status).toBe(302)
  await passedSecondFactorAtSignIn((await findDemoUser('admin@acme.test')).id)
  return client
}

describe('/orgs/:slug/api-keys', () => {
  it('an admin issues a read key: shown once with a Copy button, listed by prefix only, and it works on the API', async () => {
    const client = await adminClient()
    const page = await client.text('/orgs/acme/api-keys')
    expect(page.status).toBe(200)
    expect(page.html).toContain('ci-bot@acme.test')
    expect(page.html).toContain('policy:write')
    const bot = await findDemoUser('ci-bot@acme.test')
    const res = await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: bot.id, name: 'Nightly sync', scopes: ['policy:read'] })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Copy this key now')
    expect(html).toContain('>Copy<')
    const key = /value="(ghk_[A-Za-z0-9_-]+)"/.exec(html)?.[1]
    expect(key).toBeTruthy()
    const me = await apiCall(base, '/api/me', { token: key })
    expect(me.body.data.apiKey).toMatchObject({ name: 'Nightly sync', scopes: ['policy:read'] })

    const again = await client.text('/orgs/acme/api-keys')
    expect(again.html).toContain('Nightly sync')
    expect(again.html.replaceAll('<!-- -->', '')).toContain(`${key!.slice(0, 12)}…`)
    expect(again.html).not.toContain(key!)
  })

  it('a write scope sends the admin to confirm it is them first, and issues nothing until then', async () => {
    const client = await adminClient()
    const bot = await findDemoUser('ci-bot@acme.test')
    const before = (await db.select().from(schema.apiKeys)).length
    const res = await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: bot.id, name: 'Policy writer', scopes: ['policy:read', 'policy:write'] })
    expect(res.status).toBe(302)
    // Through step-up and back with the key to issue, never anything secret (decision 072).
    const back = `/orgs/acme/api-keys?${new URLSearchParams({ resume: JSON.stringify({ intent: 'issue', values: { serviceAccountId: bot.id, name: 'Policy writer', scopes: ['policy:read', 'policy:write'] } }) })}`
    expect(res.headers.get('location')).toBe(`/settings/security/confirm?redirectTo=${encodeURIComponent(back)}`)
    expect((await db.select().from(schema.apiKeys)).length).toBe(before)

    const admin = await findDemoUser('admin@acme.test')
    await db.update(schema.sessions).set({ secondFactorAt: new Date(), secondFactorMethod: 'totp' }).where(eq(schema.sessions.userId, admin.id))
    const ok = await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: bot.id, name: 'Policy writer', scopes: ['policy:read', 'policy:write'] })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('Copy this key now')
  })

  it('refuses bad input field by field', async () => {
    const client = await adminClient()
    const mia = await findDemoUser('member@acme.test')
    const noScope = await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: mia.id, name: 'x' })
    expect(noScope.status).toBe(400)
    expect(await noScope.text()).toContain('Choose at least one scope')
    const human = await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: mia.id, name: 'x', scopes: 'policy:read' })
    expect(human.status).toBe(400)
    expect(await human.text()).toContain('service accounts')
  })

  it('revokes after a confirmation step', async () => {
    const client = await adminClient()
    const bot = await findDemoUser('ci-bot@acme.test')
    const issued = await (await client.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: bot.id, name: 'To revoke', scopes: ['audit:read'] })).text()
    const key = /value="(ghk_[A-Za-z0-9_-]+)"/.exec(issued)![1]
    const [row] = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.name, 'To revoke'))
    const confirm = await client.text(`/orgs/acme/api-keys?revoke=${row.id}`)
    expect(confirm.html.replaceAll('<!-- -->', '')).toContain('Revoke “To revoke”')
    const res = await client.post('/orgs/acme/api-keys', { intent: 'revoke', keyId: row.id })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/orgs/acme/api-keys?notice=revoked')
    expect((await apiCall(base, '/api/me', { token: key })).status).toBe(401)
    const after = await client.text('/orgs/acme/api-keys?notice=revoked')
    expect(after.html).toContain('The key is revoked')
    expect(after.html).toContain('Revoked')
  })

  it('is only for owners and admins of this organization', async () => {
    const member = new TestClient(base)
    await signIn(member, 'member@acme.test')
    expect((await member.text('/orgs/acme/api-keys')).status).toBe(404)
    const bot = await findDemoUser('ci-bot@acme.test')
    expect((await member.post('/orgs/acme/api-keys', { intent: 'issue', serviceAccountId: bot.id, name: 'x', scopes: 'policy:read' })).status).toBe(404)
    const outsider = new TestClient(base)
    await signIn(outsider, 'member@globex.test', 'eu')
    expect((await outsider.text('/orgs/acme/api-keys')).status).toBe(404)
    const anonymous = await new TestClient(base).text('/orgs/acme/api-keys')
    expect(anonymous.status).toBe(302)
  })
})
