/**
 * `gatehouse support issue-access-code` and `support revoke-access-code` (decision 070) as real
 * child processes over this file's running server: --help, --json, the two-person rule's
 * pending answer and --request, refusals with their exit codes.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createUser, PASSWORD } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { runCli } from '#tests/setup/cli.ts'
import { TestClient } from '#tests/setup/http.ts'
import { signInAs } from '#tests/factories/security.ts'

vi.setConfig({ testTimeout: 90_000 })

let base: string
let aliceToken: string
let aliceId: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp())
  const alice = await findDemoUser('support@gatehouse.test')
  aliceId = alice.id
  ;({ token: aliceToken } = await createSession({ userId: alice.id, level: 'mfa', secondFactorMethod: 'totp', channel: 'api', meta: { ip: '127.0.0.1', userAgent: 'cli test' } }))
})

const gatehouse = (args: string[], token = aliceToken) => runCli(args, { GATEHOUSE_URL: base, GATEHOUSE_TOKEN: token })

const codesOf = (userId: string) => db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'temporary_access')))
const REASON = ['--reason', 'Lost phone, identity checked by video call', '--ticket', 'SUP-42', '--check', 'video_id', '--check', 'callback']

describe('gatehouse support issue-access-code', () => {
  it('--help says what it does, without a server or a token', async () => {
    const help = await gatehouse(['support', 'issue-access-code', '--help'], '')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('temporary access code')
    expect(help.stdout).toContain('--request')
    const revoke = await gatehouse(['support', 'revoke-access-code', '--help'], '')
    expect(revoke.code).toBe(0)
  })

  it('issues a code (printed once, --json), then revokes it', async () => {
    const m = await createUser({ email: 'cli-member@example.test' })
    const run = await gatehouse(['support', 'issue-access-code', '--user', m.id, ...REASON, '--hours', '2', '--json'])
    expect(run.code, run.stderr).toBe(0)
    const out = JSON.parse(run.stdout)
    expect(out).toMatchObject({ ok: true, status: 'issued', email: 'cli-member@example.test' })
    expect(out.code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    const [row] = await codesOf(m.id)
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeCloseTo(2 * 3_600_000, -4)

    const text = await gatehouse(['support', 'issue-access-code', '--user', m.id, ...REASON])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/Temporary access code for cli-member@example\.test/)
    expect(text.stdout).toContain('not shown again')

    const revoked = await gatehouse(['support', 'revoke-access-code', '--user', m.id, '--json'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(JSON.parse(revoked.stdout)).toMatchObject({ ok: true, revoked: true })
    const again = await gatehouse(['support', 'revoke-access-code', '--user', m.id])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('no temporary access code to revoke')
  })

  it('an owner’s code waits for a second person; --request issues it once approved', async () => {
    const owner = await findDemoUser('owner@acme.test')
    const asked = await gatehouse(['support', 'issue-access-code', '--user', owner.id, ...REASON, '--json'])
    expect(asked.code, asked.stderr).toBe(0)
    const pending = JSON.parse(asked.stdout)
    expect(pending).toMatchObject({ ok: true, status: 'pending' })
    expect(await codesOf(owner.id)).toHaveLength(0)
    const early = await gatehouse(['support', 'issue-access-code', '--user', owner.id, '--request', pending.requestId])
    expect(early.code).not.toBe(0)
    expect(early.stderr).toContain('second support person')

    const bob = await createUser({ email: 'bob.cli@gatehouse.test', platformRole: 'support' })
    const bobClient = new TestClient(base)
    await signInAs(bobClient, bob.id)
    const [request] = await db.select().from(schema.supportRequests).where(eq(schema.supportRequests.id, pending.requestId))
    const approved = await bobClient.post('/support/approvals', { intent: 'approve', requestId: request.id, targetUserId: owner.id, requestAction: 'temporary_access', reason: request.reason })
    expect(approved.status).toBe(302)
    const issued = await gatehouse(['support', 'issue-access-code', '--user', owner.id, '--request', pending.requestId, '--hours', '1', '--json'])
    expect(issued.code, issued.stderr).toBe(0)
    expect(JSON.parse(issued.stdout)).toMatchObject({ status: 'issued' })
    expect(await codesOf(owner.id)).toHaveLength(1)
    void aliceId
  })

  it('refuses bad arguments before calling, and a missing check with the server’s message', async () => {
    const m = await createUser({ email: 'cli-bad@example.test' })
    const hours = await gatehouse(['support', 'issue-access-code', '--user', m.id, ...REASON, '--hours', '30'])
    expect(hours.code).toBe(2)
    const checks = await gatehouse(['support', 'issue-access-code', '--user', m.id, '--reason', 'Lost phone, identity checked', '--ticket', 'T-1', '--check', 'video_id'])
    expect(checks.code).not.toBe(0)
    expect(checks.stderr).toContain('identity checks')
    expect(await codesOf(m.id)).toHaveLength(0)
  })
})

describe('gatehouse 2fa verify --method temporary_access', () => {
  it('finishes a sign-in a script started with the member’s code: an enrollment-only token, saved; a used code is refused', async () => {
    const m = await createUser({ email: 'cli-code-user@example.test' })
    await db.insert(schema.totpFactors).values({ userId: m.id, secretCiphertext: 'x', keyId: 'k', confirmedAt: new Date() })
    const issued = JSON.parse((await gatehouse(['support', 'issue-access-code', '--user', m.id, ...REASON, '--json'])).stdout)
    const started = async () => {
      const res = await fetch(new URL('/api/auth/signin', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: m.email, password: PASSWORD, region: 'us' }) })
      const body = await res.json()
      expect(body.data.requires2FA).toBe(true)
      return body.data.challengeId as string
    }
    const run = await gatehouse(['2fa', 'verify', '--challenge', await started(), '--method', 'temporary_access', '--code', issued.code.toLowerCase(), '--json'], '')
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, email: m.email, enrollmentOnly: true })
    const text = await gatehouse(['2fa', 'verify', '--challenge', await started(), '--method', 'temporary_access', '--code', issued.code], '')
    expect(text.code).toBe(1)
    expect(text.stderr).toContain('not valid')
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, m.id))
    expect(session).toMatchObject({ level: 'enroll_only', secondFactorMethod: 'temporary_access' })
  })

  it('takes a challenge that starts with a dash (base64url) as the value it is, not as an option', async () => {
    const run = await gatehouse(['2fa', 'verify', '--challenge', '-Qk9ndXMtY2hhbGxlbmdl', '--method', 'temporary_access', '--code', 'ABCD-EFGH-JKLM', '--json'], '')
    expect(run.stdout).not.toContain('ambiguous')
    expect(run.code, run.stdout).toBe(1) // the server's answer: no such sign-in
    const forgot = await gatehouse(['2fa', 'verify', '--challenge', '--json'], '')
    expect(forgot.code).toBe(2) // a missing value is still a usage error
  })
})
