/**
 * Keyed hashes of tokens under their own key ring, GATEHOUSE_HASH_KEYS (decision 062). An API key,
 * a browser session and an API session token are made under the ring "h1"; then the operator
 * restarts with a NEW SESSION_SECRET and the ring rotated to "h2,h1" (new key first, old kept).
 * Over the real server: the old key, session and token still work (and their hashes move to h2 on
 * use), and what the server issues now is hashed under h2.
 */
import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { keyedHash, randomToken } from '#app/auth/crypto.server.ts'
import { config } from '#app/config/env.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createSession } from '#app/auth/session.server.ts'
import { apiCall, apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'

let base: string
let acmeId: string
let apiKey: { id: string; key: string }
let webSession: { id: string; token: string }
let apiSession: { id: string; token: string }
const h2 = randomBytes(32)

/** The hash the server should store under h2, computed with this process's ring switched the same way. */
function hashUnderH2(purpose: string, value: string) {
  const saved = config.hashKeys
  config.hashKeys = [{ id: 'h2', key: h2 }]
  try {
    return keyedHash(purpose, value)
  } finally {
    config.hashKeys = saved
  }
}

beforeAll(async () => {
  await seedDemo()
  const [acme] = await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme'))
  acmeId = acme.id
  // Made under the ring "h1" (this file's start-up ring), as a running installation would have.
  expect(config.hashKeys.map((k) => k.id)).toEqual(['h1'])
  const ciBot = await findDemoUser('ci-bot@acme.test')
  const key = `ghk_${randomToken()}`
  const [row] = await db
    .insert(schema.apiKeys)
    .values({ organizationId: acme.id, userId: ciBot.id, name: 'Before rotation', tokenHash: keyedHash('api_key', key), prefix: key.slice(0, 12), scopes: ['policy:read'] })
    .returning()
  apiKey = { id: row.id, key }
  const member = await findDemoUser('admin@acme.test')
  const web = await createSession({ userId: member.id, level: 'mfa', secondFactorMethod: 'totp', meta: { ip: '127.0.0.1', userAgent: 'test' } })
  webSession = { id: web.session.id, token: web.token }
  const api = await createSession({ userId: member.id, level: 'mfa', secondFactorMethod: 'totp', channel: 'api', meta: { ip: '127.0.0.1', userAgent: 'test' } })
  apiSession = { id: api.session.id, token: api.token }

  // The restart: a new SESSION_SECRET, and the hash ring rotated with the old key kept second.
  // The built app reads its configuration when the server first loads it.
  process.env.SESSION_SECRET = randomBytes(32).toString('base64url')
  process.env.GATEHOUSE_HASH_KEYS = `h2:${h2.toString('base64')},${process.env.GATEHOUSE_HASH_KEYS}`
  base = (await startTestApp({ workers: false })).url
})

const storedHash = async (table: typeof schema.apiKeys | typeof schema.sessions, id: string) => {
  const [row] = await db.select({ tokenHash: table.tokenHash }).from(table).where(eq(table.id, id))
  return row?.tokenHash
}

describe('after SESSION_SECRET changed and the hash ring rotated (h2 first, h1 kept)', () => {
  it('an API key issued before still works, and its hash moves to the new key on use', async () => {
    expect(await storedHash(schema.apiKeys, apiKey.id)).toBe(keyedHash('api_key', apiKey.key))
    const res = await apiCall(base, `/api/organizations/${acmeId}/security`, { token: apiKey.key })
    expect(res.status).toBe(200)
    expect(await storedHash(schema.apiKeys, apiKey.id)).toBe(hashUnderH2('api_key', apiKey.key))
    // ...and still works once moved.
    expect((await apiCall(base, `/api/organizations/${acmeId}/security`, { token: apiKey.key })).status).toBe(200)
    // A key never issued is still refused (every key tried, nothing matched).
    expect((await apiCall(base, `/api/organizations/${acmeId}/security`, { token: `ghk_${randomToken()}` })).status).toBe(401)
  })

  it('a browser session and an API session token from before still work', async () => {
    const client = new TestClient(base)
    client.cookies.set('gh_session', webSession.token)
    const page = await client.get('/settings/security')
    expect(page.status).toBe(200)
    expect(await storedHash(schema.sessions, webSession.id)).toBe(hashUnderH2('session', webSession.token))
    const me = await apiCall(base, '/api/me', { token: apiSession.token })
    expect(me.status).toBe(200)
    expect(me.body.data.user.email).toBe('admin@acme.test')
  })

  it('what the server issues now is hashed with the new key', async () => {
    const token = await apiSignIn(base, 'member@acme.test')
    const rows = await db.select({ tokenHash: schema.sessions.tokenHash }).from(schema.sessions)
    expect(rows.map((r) => r.tokenHash)).toContain(hashUnderH2('session', token))
    expect(rows.map((r) => r.tokenHash)).not.toContain(keyedHash('session', token))
  })
})
