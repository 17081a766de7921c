/**
 * Every endpoint in the registry that takes a body, called by a caller who may use it, with bodies
 * that are wrong in shape: always a 4xx in the error shape, never a 500, nothing written.
 */
import { randomUUID } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { beforeAll, expect, it } from 'vitest'
import { ENDPOINTS } from '#app/api/registry.server.ts'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { apiCall, apiSignIn, fillPath } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { snapshot } from '#tests/setup/org-sweep.ts'

let base: string
let orgId: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  orgId = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0].id
})

const BAD_BODIES: { body: string; contentType?: string; status: number }[] = [
  { body: '[]', status: 400 },
  { body: '"text"', status: 400 },
  { body: '12', status: 400 },
  { body: 'null', status: 400 },
  { body: 'true', status: 400 },
  { body: '{"__unknown__": 1}', status: 400 },
  { body: '{"__proto__": {"admin": true}}', status: 400 },
  { body: `${'['.repeat(5000)}${']'.repeat(5000)}`, status: 400 },
  { body: '{"a": 1e400}', status: 400 },
  { body: '{', status: 400 },
  { body: '{}', contentType: 'text/plain', status: 415 },
  { body: 'x'.repeat(70_000), status: 413 },
]

it('never answers 500 and never writes on bad bodies, for every endpoint that takes one', async () => {
  const token = await apiSignIn(base, 'owner@acme.test')
  await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.channel, 'api'))
  const before = await snapshot()
  const answers: string[] = []
  const expected: string[] = []
  for (const e of ENDPOINTS.filter((x) => x.method !== 'GET')) {
    const params: Record<string, string> = { orgId }
    for (const [, name] of e.path.matchAll(/:(\w+)/g)) if (name !== 'orgId') params[name] = randomUUID()
    for (const bad of BAD_BODIES) {
      const res = await apiCall(base, fillPath(e.path, params), {
        method: e.method,
        token: e.auth === 'none' ? undefined : token,
        body: bad.body,
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      })
      const label = `${e.method} ${e.path} ${bad.body.slice(0, 30)}`
      // A path parameter naming nothing may legitimately answer 404 first.
      const status = res.status === 404 && e.params ? bad.status : res.status
      answers.push(`${label}: ${status} ${typeof res.body?.error?.code}`)
      expected.push(`${label}: ${bad.status} string`)
    }
  }
  expect(answers).toEqual(expected)
  expect(await snapshot()).toEqual(before)
  // The session survived every attempt (sign-out with a bad body does not sign out).
  expect((await apiCall(base, '/api/me', { token })).status).toBe(200)
  // Twelve bodies for every endpoint, one request at a time: about 30 s on a busy two-core machine.
}, 120_000)
