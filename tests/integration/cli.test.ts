/** The `gatehouse` CLI, run as real child processes with this test file's environment. */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { and, eq } from 'drizzle-orm'
import { generate } from 'otplib'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { decryptSecret, encryptSecret } from '#app/auth/crypto.server.ts'
import { verifyPassword } from '#app/auth/password.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createUser } from '#tests/factories/users.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

type Result = { code: number; stdout: string; stderr: string; json: () => any }
function gatehouse(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/bin.js', ...args], { env: { ...process.env, ...env }, timeout: 25_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0
      resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) })
    })
  })
}

// Each verb is a fresh Node process (tsx compiles on start): generous time under a loaded machine.
vi.setConfig({ testTimeout: 90_000 })

const VERBS = ['migrate', 'seed-demo', 'create-org', 'create-user', 'grant-support', 'reset-mfa', 'unlock', 'rotate-encryption-key', 'verify-audit', 'audit-heads', 'verify-members']

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

describe('help and bad arguments', () => {
  it('lists every verb and has --help on each', async () => {
    const all = await gatehouse(['--help'])
    expect(all.code).toBe(0)
    for (const verb of VERBS) expect(all.stdout).toContain(`  ${verb} `)
    const helps = await Promise.all(VERBS.map((verb) => gatehouse([verb, '--help'])))
    helps.forEach((h, i) => {
      expect(h.code, VERBS[i]).toBe(0)
      expect(h.stdout).toContain(`Usage: gatehouse ${VERBS[i]}`)
      expect(h.stdout).toContain('--json')
    })
  })

  it('exits 2 with one clear line for unknown verbs, unknown options and missing values', async () => {
    const [unknownVerb, unknownOption, missing, badRegion, shortReason] = await Promise.all([
      gatehouse(['frobnicate']),
      gatehouse(['unlock', '--region', 'us', '--email', 'a@b.c', '--reason', 'x', '--force']),
      gatehouse(['reset-mfa', '--region', 'us']),
      gatehouse(['unlock', '--region', 'mars', '--email', 'member@acme.test', '--reason', 'because']),
      gatehouse(['reset-mfa', '--region', 'us', '--email', 'member@acme.test', '--reason', 'short']),
    ])
    expect(unknownVerb).toMatchObject({ code: 2 })
    expect(unknownVerb.stderr).toContain('unknown command "frobnicate"')
    expect(unknownOption.code).toBe(2)
    expect(unknownOption.stderr).toContain("Unknown option '--force'")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--email, --reason are required')
    expect(badRegion.code).toBe(2)
    expect(badRegion.stderr).toContain('unknown region "mars"')
    expect(shortReason.code).toBe(2)
    expect(shortReason.stderr).toContain('at least 10 characters')
    for (const r of [unknownVerb, unknownOption, missing, badRegion, shortReason]) expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('exits 4 naming the URL when the database cannot be reached, and reports JSON errors', async () => {
    const res = await gatehouse(['verify-audit'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' })
    expect(res.code).toBe(4)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toContain('Cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/nowhere')
    const json = await gatehouse(['unlock', '--region', 'us', '--email', 'nobody@acme.test', '--reason', 'because', '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stderr)).toEqual({ ok: false, error: 'no account nobody@acme.test in region us', exitCode: 3 })
  })
})

describe('operator verbs', () => {
  it('migrate and seed-demo are safe to rerun', async () => {
    const migrate = await gatehouse(['migrate', '--json'])
    expect(migrate.code).toBe(0)
    expect(migrate.json()).toMatchObject({ ok: true })
    const seed = await gatehouse(['seed-demo'])
    expect(seed.code).toBe(0)
    expect(seed.stdout).toContain('support@gatehouse.test')
  })

  it('create-org and create-user, good and bad', async () => {
    const org = await gatehouse(['create-org', '--slug', 'initech', '--name', 'Initech', '--region', 'us', '--region', 'eu', '--json'])
    expect(org.code).toBe(0)
    expect(org.json()).toMatchObject({ ok: true, slug: 'initech', regions: ['us', 'eu'] })
    const policies = await db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, org.json().id))
    expect(policies.map((p) => [p.region, p.mode])).toEqual(expect.arrayContaining([['us', 'optional'], ['eu', 'optional']]))
    const [dup, badSlug] = await Promise.all([gatehouse(['create-org', '--slug', 'initech', '--name', 'Again']), gatehouse(['create-org', '--slug', 'Not A Slug', '--name', 'x'])])
    expect(dup.code).toBe(1)
    expect(dup.stderr).toContain('already exists')
    expect(badSlug.code).toBe(2)

    const person = await gatehouse(['create-user', '--region', 'eu', '--email', 'Peter@Initech.test', '--name', 'Peter', '--password', 'a long enough password', '--org', 'initech', '--role', 'admin', '--json'])
    expect(person.code).toBe(0)
    const [peter] = await db.select().from(schema.users).where(and(eq(schema.users.region, 'eu'), eq(schema.users.email, 'peter@initech.test')))
    expect(await verifyPassword(peter.passwordHash!, 'a long enough password')).toBe(true)
    const [membership] = await db.select().from(schema.memberships).where(eq(schema.memberships.userId, peter.id))
    expect(membership.role).toBe('admin')

    const bot = await gatehouse(['create-user', '--region', 'us', '--email', 'deploy-bot@initech.test', '--service-account', '--org', 'initech'])
    expect(bot.code).toBe(0)
    const [botRow] = await db.select().from(schema.users).where(eq(schema.users.email, 'deploy-bot@initech.test'))
    expect(botRow).toMatchObject({ kind: 'service', passwordHash: null })
    // The organization's own service account: a member at once, never through an invitation (decision 055).
    expect((await db.select().from(schema.memberships).where(eq(schema.memberships.userId, botRow.id))).map((m) => m.organizationId)).toEqual([org.json().id])
    expect(await db.select().from(schema.invitations).where(eq(schema.invitations.email, 'deploy-bot@initech.test'))).toEqual([])
    const [created] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.service_account_created'), eq(schema.auditEvents.subjectId, botRow.id)))
    expect(created).toMatchObject({ actorLabel: 'cli', organizationId: org.json().id })
    // An address in use is refused: no account is pulled into the organization.
    const taken = await gatehouse(['create-user', '--region', 'eu', '--email', 'peter@initech.test', '--service-account', '--org', 'initech'])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('already exists')

    const bad = await Promise.all([
      gatehouse(['create-user', '--region', 'eu', '--email', 'peter@initech.test', '--password', 'a long enough password']),
      gatehouse(['create-user', '--region', 'us', '--email', 'short@initech.test', '--password', 'short']),
      gatehouse(['create-user', '--region', 'us', '--email', 'nopass@initech.test']),
      gatehouse(['create-user', '--region', 'us', '--email', 'bot2@initech.test', '--service-account', '--password', 'a long enough password']),
      gatehouse(['create-user', '--region', 'us', '--email', 'lost@initech.test', '--password', 'a long enough password', '--org', 'no-such-org']),
      gatehouse(['create-user', '--region', 'us', '--email', 'not-an-email', '--password', 'a long enough password']),
    ])
    expect(bad.map((b) => b.code)).toEqual([1, 2, 2, 2, 3, 2])
    expect(bad[2].stderr).toContain('give --password, or run in a terminal')
    const none = await db.select().from(schema.users).where(eq(schema.users.email, 'lost@initech.test'))
    expect(none).toHaveLength(0) // no partial write
  })

  it('grant-support gives the role and ends the account\'s sessions', async () => {
    const user = await createUser({ email: 'new.staff@gatehouse.test' })
    const client = new TestClient(base)
    await signInAs(client, user.id)
    const res = await gatehouse(['grant-support', '--region', 'us', '--email', 'new.staff@gatehouse.test'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('none → support')
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(after.platformRole).toBe('support')
    expect((await securityCounts(user.id)).sessions).toBe(0)
    expect((await gatehouse(['grant-support', '--region', 'us', '--email', 'ghost@gatehouse.test'])).code).toBe(3)
  })

  it('reset-mfa has the effects of a support reset, audited as auth.totp_disabled_by_admin by cli', async () => {
    const owner = await findDemoUser('owner@acme.test')
    await giveFactors(owner.id)
    const ownerClient = new TestClient(base)
    await signInAs(ownerClient, owner.id)
    const since = Date.now()
    const res = await gatehouse(['reset-mfa', '--region', 'us', '--email', 'owner@acme.test', '--reason', 'Sole owner lost every factor; verified by phone', '--ticket', 'OPS-9', '--json'])
    expect(res.code).toBe(0)
    expect(res.json()).toMatchObject({ ok: true, email: 'owner@acme.test', removed: { totp: 1, webauthn: 2, recoveryCodes: 9, trustedDevices: 2, sessions: 1 }, noticeQueued: true })
    expect(await securityCounts(owner.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
    expect((await ownerClient.get('/')).status).toBe(302)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, owner.id))
    expect(after.mfaResetAt).toBeInstanceOf(Date)
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'auth.totp_disabled_by_admin'), eq(schema.auditEvents.subjectId, owner.id)))
    expect(event).toMatchObject({ actorLabel: 'cli', actorId: null })
    expect(event.details).toMatchObject({ reason: 'Sole owner lost every factor; verified by phone', ticket: 'OPS-9' })
    const mail = await smtp.waitFor('owner@acme.test', { subject: /two-factor authentication was reset/, since })
    expect(mail.text).toContain('a Gatehouse operator')
    expect(mail.text).toMatch(/\/freeze\/\S+/)
    expect((await gatehouse(['reset-mfa', '--region', 'eu', '--email', 'owner@acme.test', '--reason', 'wrong region for this account'])).code).toBe(3)
  })

  it('reset-mfa still resets when Redis is down, and says the notice was not queued', async () => {
    const user = await createUser({ email: 'no-redis@acme.test' })
    await giveFactors(user.id)
    const res = await gatehouse(['reset-mfa', '--region', 'us', '--email', 'no-redis@acme.test', '--reason', 'Lost phone while Redis is being upgraded'], { REDIS_URL: 'redis://127.0.0.1:1' })
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('WARNING: the notice could not be queued')
    expect((await securityCounts(user.id)).totp).toBe(0)
    const [email] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.toAddress, 'no-redis@acme.test'))
    expect(email.status).toBe('not_queued')
  })

  it('unlock lifts a lockout, and says so when there is none', async () => {
    const user = await createUser({ email: 'cli-locked@acme.test' })
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000) }).where(eq(schema.users.id, user.id))
    const res = await gatehouse(['unlock', '--region', 'us', '--email', 'cli-locked@acme.test', '--reason', 'Confirmed on the phone'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('Unlocked cli-locked@acme.test')
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'support.unlock'), eq(schema.auditEvents.subjectId, user.id)))
    expect(event.actorLabel).toBe('cli')
    const again = await gatehouse(['unlock', '--region', 'us', '--email', 'cli-locked@acme.test', '--reason', 'Confirmed on the phone'])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('not locked')
  })

  it('rotate-encryption-key re-encrypts to the new first key; the secret still gives the same codes; reruns are no-ops', async () => {
    const user = await createUser({ email: 'rotating@acme.test' })
    const { secret } = await giveFactors(user.id)
    const oldRing = process.env.GATEHOUSE_ENCRYPTION_KEYS!
    const newKey = randomBytes(32)
    const ring = `t2:${newKey.toString('base64')},${oldRing}`
    const [before] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(before.keyId).toBe('t1')

    const first = await gatehouse(['rotate-encryption-key', '--json'], { GATEHOUSE_ENCRYPTION_KEYS: ring })
    expect(first.code).toBe(0)
    expect(first.json()).toMatchObject({ keyId: 't2', total: 1, rotated: 1, alreadyCurrent: 0, failed: [] })
    const [after] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(after.keyId).toBe('t2')
    expect(after.secretCiphertext).not.toBe(before.secretCiphertext)

    // This process now runs with the operator's new ring too (new key first, old one kept).
    config.encryptionKeys.unshift({ id: 't2', key: newKey })
    try {
      const decrypted = decryptSecret(after.secretCiphertext, after.keyId, { column: 'totp_factors.secret_ciphertext', userId: user.id })
      expect(decrypted).toBe(secret)
      expect(await generate({ secret: decrypted })).toBe(await generate({ secret }))
      expect(encryptSecret('x', { column: 'totp_factors.secret_ciphertext', userId: user.id }).keyId).toBe('t2')
    } finally {
      config.encryptionKeys.shift()
    }

    const rerun = await gatehouse(['rotate-encryption-key'], { GATEHOUSE_ENCRYPTION_KEYS: ring })
    expect(rerun.code).toBe(0)
    expect(rerun.stdout).toContain('0 re-encrypted, 1 already under it')

    // A ring that lost the key a secret is under: reported, exit 1, nothing changed.
    const lost = await gatehouse(['rotate-encryption-key'], { GATEHOUSE_ENCRYPTION_KEYS: `t3:${randomBytes(32).toString('base64')}` })
    expect(lost.code).toBe(1)
    expect(lost.stdout).toContain('1 FAILED')
    const [still] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(still.keyId).toBe('t2')
  })

  it('verify-audit reports a clean log', async () => {
    const res = await gatehouse(['verify-audit', '--json'])
    expect(res.code).toBe(0)
    expect(res.json()).toMatchObject({ ok: true, firstBroken: null })
  })
})
