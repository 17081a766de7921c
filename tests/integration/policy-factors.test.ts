/**
 * Organization policy meets the member's own factors, over real HTTP and PostgreSQL:
 * - block at the deadline: sign-in refused with a message naming whom to contact;
 * - disabled: sign-in asks nothing, no enrollment is offered, enrolled factors are kept and removable;
 * - required: removing the last allowed factor (or turning 2FA off) is refused; removing one of
 *   two is fine and the other keeps working.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { NO_REQUEST } from '#app/audit/record.server.ts'
import { removeKey, removeTotp, turnOffMfa } from '#app/mfa/factors.server.ts'
import { enrollTotp } from '#app/mfa/enrollment.server.ts'
import { beginTotpSetup } from '#app/mfa/totp.server.ts'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, totpCode, userById } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

async function setPolicy(orgId: string, values: Partial<typeof schema.regionPolicies.$inferInsert>) {
  await db.update(schema.regionPolicies).set(values).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, 'us')))
}
async function addKey(userId: string, label = 'Desk key') {
  const [key] = await db.insert(schema.webauthnCredentials).values({ userId, credentialId: `cred-${label}-${userId}`, publicKey: 'pk', label }).returning()
  return key
}
/** A member with a fresh second factor (step-up satisfied). */
async function steppedUp(userId: string) {
  const client = new TestClient(base)
  await signInAs(client, userId, { level: 'mfa', secondFactorMethod: 'totp' })
  return client
}

describe('block at the deadline', () => {
  it('refuses sign-in with a message naming the organization and whom to contact, and starts no session', async () => {
    const org = await createOrg({ name: 'Initrode' })
    await createUser({ org, role: 'owner', email: 'boss@initrode.test' })
    await createUser({ org, role: 'admin', email: 'it@initrode.test' })
    await setPolicy(org.id, { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'block', requiredSince: ago(30) })
    const member = await createUser({ org })
    await db.update(schema.memberships).set({ joinedAt: ago(365) }).where(eq(schema.memberships.userId, member.id))
    const client = new TestClient(base)
    const res = await signIn(client, member.email)
    expect(res.status).toBe(403)
    const html = (await res.text()).replaceAll('<!-- -->', '')
    expect(html).toContain('Initrode requires two-factor authentication and your deadline to set it up has passed, so sign-in is blocked.')
    expect(html).toContain('Contact boss@initrode.test, it@initrode.test to get access again.')
    expect(client.cookies.has('gh_session')).toBe(false)
    expect(client.cookies.has('gh_pending')).toBe(false)
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, member.id))).toHaveLength(0)
    expect(await auditOf(member.id)).toContainEqual(expect.objectContaining({ action: 'auth.login_failed', details: expect.objectContaining({ reason: 'policy_blocked' }) }))

    // During the grace period the same member gets the prompt instead.
    await setPolicy(org.id, { requiredSince: ago(1) })
    const grace = await signIn(new TestClient(base), member.email)
    expect(grace.status).toBe(302)
    expect(grace.headers.get('location')).toMatch(/^\/login\/grace/)
  })
})

describe('disabled', () => {
  it('asks no second factor even of a member with an app, offers no enrollment, keeps and lists enrolled factors, and lets them be removed', async () => {
    const org = await createOrg({ name: 'Hooli' })
    const member = await createUser({ org })
    await enableTotp(member.id)
    const key = await addKey(member.id, 'Old key')
    await setPolicy(org.id, { mode: 'disabled' })

    const client = new TestClient(base)
    const res = await signIn(client, member.email)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect(client.cookies.has('gh_session')).toBe(true)
    expect(client.cookies.has('gh_pending')).toBe(false)

    // Rendered in the page (role=status), not only present in the loader data.
    const banner = 'role="status">Your organization has turned off two-factor authentication for your region'
    const indexPage = await client.text('/settings/security')
    expect(indexPage.status).toBe(200)
    const index = indexPage.html
    expect(index).toContain(banner)
    expect(index).toContain('Manage authenticator app')
    expect(index).toContain('Old key')
    const enrollPage = await client.text('/enroll')
    expect(enrollPage.status).toBe(200)
    const enroll = enrollPage.html
    expect(enroll).toContain(banner)
    expect(enroll).not.toContain('href="/settings/security/totp"')
    expect(enroll).not.toContain('href="/settings/security/keys"')
    const keysPage = (await client.text('/settings/security/keys')).html
    expect(keysPage).toContain('Old key')
    expect(keysPage).toContain(banner)
    expect(keysPage).not.toContain('Add security key')

    // Registering a key is refused on the server too.
    const stepped = await steppedUp(member.id)
    const options = await stepped.post('/settings/security/keys', { intent: 'webauthn_options', label: 'New key' })
    expect(options.status).toBe(403)
    expect(await options.text()).toContain('turned off two-factor authentication for your region')

    // Enrolled factors are kept and can be removed.
    const removed = await stepped.post('/settings/security/keys', { intent: 'remove', keyId: key.id })
    expect(removed.status).toBe(200)
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, member.id))).toHaveLength(0)
    expect((await stepped.post('/settings/security/totp', { intent: 'remove' })).status).toBe(302)
    expect((await userById(member.id)).mfaEnabledAt).toBeNull()

    // With no app left, the set-up page says why instead of making a secret; confirming is refused.
    const totpPage = (await stepped.text('/settings/security/totp')).html
    expect(totpPage).toContain(banner)
    expect(totpPage).not.toContain('data-testid="totp-secret"')
    expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, member.id))).toHaveLength(0)
    const confirm = await stepped.post('/settings/security/totp', { intent: 'confirm', code: '123456' })
    expect(confirm.status).toBe(403)
  })

  it('the domain refuses enrollment under disabled (for every channel), and allows it again under optional', async () => {
    const org = await createOrg()
    await setPolicy(org.id, { mode: 'disabled' })
    const member = await createUser({ org })
    const setup = await beginTotpSetup(await userById(member.id))
    if (!setup.ok) throw new Error('setup')
    const refused = await enrollTotp(await userById(member.id), await totpCode(setup.secret), NO_REQUEST, null)
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('turned off two-factor authentication for your region') })
    await setPolicy(org.id, { mode: 'optional' })
    expect((await enrollTotp(await userById(member.id), await totpCode(setup.secret), NO_REQUEST, null)).ok).toBe(true)
  })
})

describe('required: the last allowed factor stays', () => {
  async function requiredMember(allowedMethods: string[] = ['totp', 'webauthn']) {
    const org = await createOrg({ name: 'Vandelay Industries' })
    await setPolicy(org.id, { mode: 'required', allowedMethods, requiredSince: ago(1) })
    return { org, member: await createUser({ org }) }
  }

  it('refuses removing the only app (409, said on the page, nothing removed), and turning 2FA off', async () => {
    const { member } = await requiredMember()
    const { secret } = await enableTotp(member.id)
    const client = await steppedUp(member.id)
    const res = await client.post('/settings/security/totp', { intent: 'remove' })
    expect(res.status).toBe(409)
    expect((await res.text()).replaceAll('&#x27;', "'")).toContain('You cannot remove your last allowed sign-in method: Vandelay Industries requires two-factor authentication with an authenticator app or a security key.')
    expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, member.id))).toHaveLength(1)

    const page = (await client.text('/settings/security')).html
    expect(page).toContain('Two-factor authentication cannot be turned off: Vandelay Industries requires')
    expect(page).not.toContain('Turn off 2FA</button>')
    const off = await client.post('/settings/security', { intent: 'turn_off', password: 'correct horse battery staple' })
    expect(off.status).toBe(409)
    expect((await userById(member.id)).mfaEnabledAt).not.toBeNull()
    expect((await turnOffMfa(await userById(member.id), NO_REQUEST, null)).ok).toBe(false)
    // On a Korean page the refusal is said in Korean, the organization's name as written (decision 079).
    client.cookies.set('gh_lang', 'ko')
    const ko = (await client.text('/settings/security')).html
    expect(ko).toContain('2단계 인증을 끌 수 없습니다: Vandelay Industries에서 2단계 인증(인증 앱 또는 보안 키)을 요구합니다.')
    client.cookies.delete('gh_lang')

    // The app still signs in.
    await forgetTotpStep(member.id)
    const signInClient = new TestClient(base)
    expect((await signIn(signInClient, member.email)).headers.get('location')).toBe('/login/verify')
    const ok = await signInClient.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/')
  })

  it('allows removing one of two allowed factors, then refuses the last; the other keeps working', async () => {
    const { member } = await requiredMember()
    const { secret } = await enableTotp(member.id)
    const key = await addKey(member.id)
    const client = await steppedUp(member.id)
    expect((await client.post('/settings/security/keys', { intent: 'remove', keyId: key.id })).status).toBe(200)
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, member.id))).toHaveLength(0)
    expect((await client.post('/settings/security/totp', { intent: 'remove' })).status).toBe(409)
    await forgetTotpStep(member.id)
    const signInClient = new TestClient(base)
    await signIn(signInClient, member.email)
    expect((await signInClient.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })).status).toBe(302)
  })

  it('a factor the policy does not allow never protects the allowed one; a disallowed one can go', async () => {
    const { org, member } = await requiredMember(['totp', 'webauthn'])
    await enableTotp(member.id)
    const key = await addKey(member.id)
    await setPolicy(org.id, { allowedMethods: ['webauthn'] })
    const user = await userById(member.id)
    // The app is not allowed: removing it is fine, and then the key is the last allowed factor.
    expect((await removeTotp(user, NO_REQUEST, null)).ok).toBe(true)
    const refused = await removeKey(user, key.id, NO_REQUEST, null)
    expect(refused).toMatchObject({ ok: false, code: 'required_by_policy' })
    expect(refused.ok === false && refused.message).toContain('with a security key')
  })

  it('a method the policy does not allow is not offered for set-up, and is refused on the server', async () => {
    const { member } = await requiredMember(['webauthn'])
    const client = await steppedUp(member.id)
    const page = (await client.text('/settings/security/totp')).html.replaceAll('&#x27;', "'")
    expect(page).toContain('role="status">Your organization does not accept an authenticator app for two-factor authentication in your region. Set up a security key instead.')
    expect(page).not.toContain('data-testid="totp-secret"')
    expect((await client.post('/settings/security/totp', { intent: 'confirm', code: '123456' })).status).toBe(403)
    const index = (await client.text('/settings/security')).html
    expect(index).not.toContain('Set up an authenticator app')
    expect((await client.text('/settings/security/keys')).html).toContain('Add security key')
  })

  it('email allowed, optional, or an exempt service account: removal is allowed', async () => {
    const emailOk = await requiredMember(['email', 'totp', 'webauthn'])
    await enableTotp(emailOk.member.id)
    expect((await removeTotp(await userById(emailOk.member.id), NO_REQUEST, null)).ok).toBe(true)

    const optional = await createOrg()
    const m = await createUser({ org: optional })
    await enableTotp(m.id)
    expect((await turnOffMfa(await userById(m.id), NO_REQUEST, null)).ok).toBe(true)

    const { org } = await requiredMember()
    const bot = await createUser({ org, kind: 'service' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI' })
    await enableTotp(bot.id)
    expect((await removeTotp(await userById(bot.id), NO_REQUEST, null)).ok).toBe(true)
  })

  it('where only an app is allowed, the refusal points to replacing the app (a second app cannot be added first)', async () => {
    const { member } = await requiredMember(['totp'])
    await enableTotp(member.id)
    const refused = await removeTotp(await userById(member.id), NO_REQUEST, null)
    expect(refused.ok === false && refused.message).toContain('To move your authenticator app to a new phone, use "Replace authenticator app" instead.')
  })

  it('staff keep their last app or key whatever the organizations say', async () => {
    const staff = await createUser({ platformRole: 'support' })
    await enableTotp(staff.id)
    const refused = await removeTotp(await userById(staff.id), NO_REQUEST, null)
    expect(refused).toMatchObject({ ok: false, code: 'required_by_policy' })
    expect(refused.ok === false && refused.message).toContain('support and administrator accounts must keep an authenticator app or a security key')
  })

  it('two racing removals of the last two factors cannot both succeed', async () => {
    const { member } = await requiredMember()
    await enableTotp(member.id)
    const key = await addKey(member.id)
    const user = await userById(member.id)
    const results = await Promise.all([removeTotp(user, NO_REQUEST, null), removeKey(user, key.id, NO_REQUEST, null)])
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    const [totp, keys] = await Promise.all([
      db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, member.id)),
      db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, member.id)),
    ])
    expect(totp.length + keys.length).toBe(1)
  })
})
