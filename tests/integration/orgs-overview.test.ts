/**
 * The /orgs/:slug overview's "Next deadlines" (nextDeadlines): the soonest pending deadlines first,
 * at most ten, each with the member, region and date; an extension counts when it gives more time; members
 * who are compliant, exempt, overdue or under a policy that is not Required are not listed.
 * Deadlines are placed by data (required_since, joined_at, extensions), never by the clock.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { encryptSecret } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import { eq } from 'drizzle-orm'

const DAY = 86_400_000
// Noon UTC today, so that adding whole days never lands near a date boundary.
const noon = new Date(new Date().toISOString().slice(0, 10) + 'T12:00:00Z').getTime()
const fmt = (t: number) => new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })

let admin: TestClient
let emptyAdmin: TestClient
const expected: { name: string; email: string; region: string; deadline: number }[] = []

beforeAll(async () => {
  const org = await createOrg({ slug: 'dl', name: 'Deadline Org', regions: ['us', 'eu'] })
  // US: Required, app only, 30 days of grace since 20 days ago (a member who joined before then has 10 days left).
  await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], gracePeriodDays: 30, requiredSince: new Date(noon - 20 * DAY) }).where(eq(schema.regionPolicies.organizationId, org.id))
  // EU stays optional: nobody there waits on a deadline.
  await db.update(schema.regionPolicies).set({ mode: 'optional' }).where(eq(schema.regionPolicies.region, 'eu'))

  const adminUser = await createUser({ email: 'admin@dl.test', name: 'Ada Admin', org, role: 'admin' })
  const { ciphertext, keyId } = encryptSecret('JBSWY3DPEHPK3PXP', { column: 'totp_factors.secret_ciphertext', userId: adminUser.id })
  await db.insert(schema.totpFactors).values({ userId: adminUser.id, secretCiphertext: ciphertext, keyId, confirmedAt: new Date() }) // compliant

  // Twelve members whose deadlines follow their joining date: 10, 11, ... 21 days from now.
  // Created in reverse so that creation order is not the answer.
  for (let k = 11; k >= 0; k--) {
    const name = `Member ${String.fromCharCode(65 + k)}`
    const email = `m${k}@dl.test`
    const u = await createUser({ email, name, org })
    await db.update(schema.memberships).set({ joinedAt: new Date(noon - (20 - k) * DAY) }).where(eq(schema.memberships.userId, u.id))
    expected.push({ name, email, region: 'US', deadline: noon + (10 + k) * DAY })
  }
  // Extensions only ever give more time: one earlier than the computed deadline changes nothing
  // (Ezra keeps 14.75 days), one later moves the member back (Lou, 40 days: off the list).
  const ext = await createUser({ email: 'extended@dl.test', name: 'Ezra Extended', org })
  await db.update(schema.memberships).set({ joinedAt: new Date(noon - 15.25 * DAY) }).where(eq(schema.memberships.userId, ext.id))
  await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: ext.id, region: 'us', deadline: new Date(noon + 3 * DAY), reason: 'on leave' })
  expected.push({ name: 'Ezra Extended', email: 'extended@dl.test', region: 'US', deadline: noon + 14.75 * DAY })
  const late = await createUser({ email: 'late@dl.test', name: 'Lou Late', org })
  await db.update(schema.memberships).set({ joinedAt: new Date(noon - 19 * DAY) }).where(eq(schema.memberships.userId, late.id))
  await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: late.id, region: 'us', deadline: new Date(noon + 40 * DAY), reason: 'on leave' })
  // An exempt service account and a member in the optional region: no deadline.
  const bot = await createUser({ email: 'bot@dl.test', name: 'Build Bot', kind: 'service', org })
  await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI' })
  await createUser({ email: 'eu@dl.test', name: 'Eve Europe', region: 'eu', org })
  expected.sort((a, b) => a.deadline - b.deadline)

  const other = await createOrg({ slug: 'dl-none', name: 'Nothing Due' })
  const otherAdmin = await createUser({ email: 'admin@dl-none.test', org: other, role: 'admin' })

  const { url } = await startTestApp({ workers: false })
  admin = new TestClient(url)
  await signInAs(admin, adminUser.id)
  emptyAdmin = new TestClient(url)
  await signInAs(emptyAdmin, otherAdmin.id)
})

function deadlineRows(html: string) {
  const section = html.replaceAll('<!-- -->', '').replace(/<time [^>]*>([^<]*)<\/time>/g, '$1').split('<h2>Next deadlines</h2>')[1].split('</table>')[0]
  return [...section.matchAll(/<tr><td>([^<]+) <span class="muted">([^<]+)<\/span><\/td><td>([^<]+)<\/td><td>([^<]+)<\/td><\/tr>/g)].map((m) => ({ name: m[1], email: m[2], region: m[3], date: m[4] }))
}

describe('overview: next deadlines', () => {
  it('lists the ten soonest pending deadlines in order, with member, region and date', async () => {
    const res = await admin.get('/orgs/dl')
    expect(res.status).toBe(200)
    const html = await res.text()
    const rows = deadlineRows(html)
    expect(rows).toEqual(expected.slice(0, 10).map((e) => ({ name: e.name, email: e.email, region: e.region, date: fmt(e.deadline) })))
    expect(rows[0]).toMatchObject({ name: 'Member A', date: fmt(noon + 10 * DAY) })
    expect(rows[5]).toMatchObject({ name: 'Ezra Extended', date: fmt(noon + 14.75 * DAY) })
    // The latest pending members are left off (Lou's extension puts him last); the others never appear.
    for (const absent of ['m10@dl.test', 'm11@dl.test', 'late@dl.test', 'bot@dl.test', 'eu@dl.test', 'admin@dl.test']) expect(rows.map((r) => r.email)).not.toContain(absent)
  })

  it('says so when nobody waits on a deadline', async () => {
    const html = (await emptyAdmin.text('/orgs/dl-none')).html
    expect(html).toContain('No member is waiting on a deadline.')
    expect(deadlineRows(html)).toEqual([])
  })
})
