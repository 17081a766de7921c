/**
 * The members table over real HTTP: search by name and by email (`q`, case-insensitive, LIKE
 * wildcards taken literally, scoped to the organization), the factor filter, the region filter and
 * pagination with its total and links. Rows are read from the rendered page.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { encryptSecret, randomToken } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'

let admin: TestClient

async function giveApp(userId: string) {
  const { ciphertext, keyId } = encryptSecret('JBSWY3DPEHPK3PXP', { column: 'totp_factors.secret_ciphertext', userId })
  await db.insert(schema.totpFactors).values({ userId, secretCiphertext: ciphertext, keyId, confirmedAt: new Date() })
}
async function giveKey(userId: string) {
  await db.insert(schema.webauthnCredentials).values({ userId, credentialId: randomToken(16), publicKey: randomToken(32), label: 'Key', deviceType: 'singleDevice' })
}

beforeAll(async () => {
  const org = await createOrg({ slug: 'tbl', name: 'Table Org', regions: ['us', 'eu'] })
  const other = await createOrg({ slug: 'elsewhere', regions: ['us'] })
  const zed = await createUser({ email: 'zed.admin@tbl.test', name: 'Zed Admin', region: 'us', org, role: 'admin' })
  const alice = await createUser({ email: 'alice@tbl.test', name: 'Alice Anders', region: 'us', org })
  const bob = await createUser({ email: 'bob@tbl.test', name: 'Bob Brown', region: 'eu', org })
  await createUser({ email: 'carol.ch@tbl.test', name: 'Carol Chen', region: 'eu', org })
  const dave = await createUser({ email: 'dave@other-domain.test', name: 'Dave Alison', region: 'us', org })
  // Someone who matches the searches but belongs to another organization.
  await createUser({ email: 'alice.elsewhere@tbl.test', name: 'Alice Elsewhere', region: 'us', org: other })
  // An app that was never confirmed does not count as a factor.
  const { ciphertext, keyId } = encryptSecret('JBSWY3DPEHPK3PXP', { column: 'totp_factors.secret_ciphertext', userId: zed.id })
  await db.insert(schema.totpFactors).values({ userId: zed.id, secretCiphertext: ciphertext, keyId, confirmedAt: null })
  await giveApp(alice.id)
  await giveKey(bob.id)
  await giveKey(bob.id)
  await giveApp(dave.id)
  await giveKey(dave.id)

  const { url } = await startTestApp({ workers: false })
  admin = new TestClient(url)
  await signInAs(admin, zed.id)
})

/** The emails of the table's rows, in page order. */
async function rows(query: string) {
  const res = await admin.get(`/orgs/tbl/members${query}`)
  expect(res.status, query).toBe(200)
  const html = (await res.text()).replaceAll('<!-- -->', '')
  const emails = [...html.matchAll(/<td>([^<\s]+@[^<\s]+)<\/td>/g)].map((m) => m[1])
  const total = Number(html.match(/([\d,]+) matching members/)![1].replace(/,/g, ''))
  return { emails, total, html }
}

describe('search (q)', () => {
  it('finds members by part of their name, any case', async () => {
    expect((await rows('?q=ALI&sort=email')).emails).toEqual(['alice@tbl.test', 'dave@other-domain.test'])
    expect((await rows('?q=chen')).emails).toEqual(['carol.ch@tbl.test'])
  })

  it('finds members by part of their email, any case', async () => {
    const r = await rows('?q=Other-Domain')
    expect(r.emails).toEqual(['dave@other-domain.test'])
    expect(r.total).toBe(1)
    expect((await rows('?q=bob@tbl')).emails).toEqual(['bob@tbl.test'])
  })

  it('takes % and _ literally and never lists another organization', async () => {
    expect((await rows('?q=%25')).total).toBe(0)
    expect((await rows('?q=_')).total).toBe(0)
    expect((await rows('?q=elsewhere')).total).toBe(0)
    expect((await rows('?q=nobody-by-that-name')).emails).toEqual([])
  })
})

describe('filters', () => {
  it('filters by factor: app, key, either, none (an unconfirmed app is none)', async () => {
    expect((await rows('?factor=totp&sort=email')).emails).toEqual(['alice@tbl.test', 'dave@other-domain.test'])
    expect((await rows('?factor=webauthn&sort=email')).emails).toEqual(['bob@tbl.test', 'dave@other-domain.test'])
    const any = await rows('?factor=any&sort=email')
    expect(any.emails).toEqual(['alice@tbl.test', 'bob@tbl.test', 'dave@other-domain.test'])
    expect(any.total).toBe(3)
    expect((await rows('?factor=none&sort=email')).emails).toEqual(['carol.ch@tbl.test', 'zed.admin@tbl.test'])
  })

  it('filters by region, and combines with search and factor', async () => {
    expect((await rows('?region=eu&sort=email')).emails).toEqual(['bob@tbl.test', 'carol.ch@tbl.test'])
    expect((await rows('?region=us&sort=email')).emails).toEqual(['alice@tbl.test', 'dave@other-domain.test', 'zed.admin@tbl.test'])
    expect((await rows('?region=jp')).total).toBe(0)
    expect((await rows('?region=us&factor=webauthn')).emails).toEqual(['dave@other-domain.test'])
    expect((await rows('?region=eu&q=bob&factor=none')).total).toBe(0)
  })

  it('keeps the chosen filters in the form and in the CSV link', async () => {
    const { html } = await rows('?region=eu&factor=webauthn&q=bob')
    expect(html).toMatch(/<input id="q" name="q" value="bob"/)
    expect(html).toMatch(/<option value="eu" selected="">EU<\/option>/)
    expect(html).toMatch(/<option value="webauthn" selected="">Security key<\/option>/)
    expect(html).toContain('href="/orgs/tbl/members/csv?region=eu&amp;factor=webauthn&amp;q=bob"')
  })
})

/** The href of the pager's link, decoded. */
const pagerLink = (html: string, label: 'Next' | 'Previous') => html.match(new RegExp(`href="([^"]+)">${label}</a>`))?.[1].replaceAll('&amp;', '&') ?? null

describe('pagination (keyset, decision 076)', () => {
  it('pages through the sorted rows with the total, forwards and back by the neighbours\' links', async () => {
    const p1 = await rows('?sort=email&pageSize=2')
    expect(p1.emails).toEqual(['alice@tbl.test', 'bob@tbl.test'])
    expect(p1.total).toBe(5)
    expect(p1.html).toContain('Showing 2 of 5')
    expect(pagerLink(p1.html, 'Previous')).toBeNull()
    const next1 = pagerLink(p1.html, 'Next')!
    expect(next1).toMatch(/^\/orgs\/tbl\/members\?sort=email&pageSize=2&after=[\w-]+$/)

    const p2 = await rows(next1.slice('/orgs/tbl/members'.length))
    expect(p2.emails).toEqual(['carol.ch@tbl.test', 'dave@other-domain.test'])
    expect(p2.total).toBe(5)
    const next2 = pagerLink(p2.html, 'Next')!
    const p3 = await rows(next2.slice('/orgs/tbl/members'.length))
    expect(p3.emails).toEqual(['zed.admin@tbl.test'])
    expect(pagerLink(p3.html, 'Next')).toBeNull()

    // Back from the last page: the same pages in the same order.
    const back2 = await rows(pagerLink(p3.html, 'Previous')!.slice('/orgs/tbl/members'.length))
    expect(back2.emails).toEqual(p2.emails)
    const back1 = await rows(pagerLink(back2.html, 'Previous')!.slice('/orgs/tbl/members'.length))
    expect(back1.emails).toEqual(p1.emails)
    expect(pagerLink(back1.html, 'Previous')).toBeNull()

    // Every member appears exactly once across the pages.
    expect([...p1.emails, ...p2.emails, ...p3.emails].sort()).toEqual((await rows('?sort=email')).emails.sort())
  })

  it('pages descending and within a filter, for every sort', async () => {
    const p1 = await rows('?region=us&sort=email&dir=desc&pageSize=2')
    expect(p1.emails).toEqual(['zed.admin@tbl.test', 'dave@other-domain.test'])
    expect(p1.total).toBe(3)
    const p2 = await rows(pagerLink(p1.html, 'Next')!.slice('/orgs/tbl/members'.length))
    expect(p2.emails).toEqual(['alice@tbl.test'])
    expect(pagerLink(p2.html, 'Next')).toBeNull()
    // Each sort, both ways, one row a page: the pages together are the whole list in the one-page order.
    for (const sort of ['name', 'email', 'region', 'role', 'kind', 'status', 'joined']) {
      for (const dir of ['asc', 'desc']) {
        const whole = (await rows(`?sort=${sort}&dir=${dir}`)).emails
        const walked: string[] = []
        let q: string | null = `?sort=${sort}&dir=${dir}&pageSize=1`
        while (q && walked.length < 10) {
          const page = await rows(q)
          walked.push(...page.emails)
          q = pagerLink(page.html, 'Next')?.slice('/orgs/tbl/members'.length) ?? null
        }
        expect(walked, `${sort} ${dir}`).toEqual(whole)
      }
    }
  })

  it('falls back to the first page for a bad cursor, page or page size instead of failing', async () => {
    const r = await rows('?page=-1&pageSize=100000&sort=email&after=not-a-cursor')
    expect(r.emails).toHaveLength(5)
    expect(pagerLink(r.html, 'Next')).toBeNull()
    // A well-formed cursor whose id is not a uuid is refused too.
    const forged = Buffer.from(JSON.stringify(['b', "1' or 1=1"])).toString('base64url')
    expect((await rows(`?sort=email&after=${forged}`)).emails).toHaveLength(5)
  })
})
