/**
 * The `gatehouse` API client verbs as real child processes against this file's running server:
 * answers piped on stdin, the token kept in $XDG_CONFIG_HOME/gatehouse/credentials.json (0600).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { generate } from 'otplib'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

vi.setConfig({ testTimeout: 90_000 })

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

type Run = { code: number; stdout: string; stderr: string; json: () => any }

/**
 * Runs `gatehouse ...` with its own config directory. `answers` are written to stdin one line
 * each; a function answer is called with the output so far once `waitFor` matches it.
 */
function gatehouse(args: string[], options: { home: string; answers?: (string | { waitFor: RegExp; answer: (out: string) => Promise<string> })[]; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['cli/bin.js', ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: options.home, GATEHOUSE_URL: base, GATEHOUSE_TOKEN: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill(), 60_000)
    const pending = [...(options.answers ?? [])]
    let busy = false
    const feed = async () => {
      if (busy) return
      busy = true
      while (pending.length) {
        const next = pending[0]
        if (typeof next === 'string') child.stdin.write(next + '\n')
        else {
          const match = next.waitFor.exec(stdout + stderr)
          if (!match) break
          child.stdin.write((await next.answer(stdout + stderr)) + '\n')
        }
        pending.shift()
      }
      if (!pending.length) child.stdin.end()
      busy = false
    }
    child.stdout.on('data', (d) => {
      stdout += d
      void feed()
    })
    child.stderr.on('data', (d) => {
      stderr += d
      void feed()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? 99, stdout, stderr, json: () => JSON.parse(stdout) })
    })
    void feed()
  })
}

const newHome = () => mkdtempSync(join(tmpdir(), 'gatehouse-cli-'))
const credentialsOf = (home: string) => JSON.parse(readFileSync(join(home, 'gatehouse', 'credentials.json'), 'utf8'))

describe('login', () => {
  it('signs in with the password and an app code, and keeps the token in a 0600 file', async () => {
    const user = await createUser({ org: await createOrg() })
    const { secret } = await enableTotp(user.id)
    const home = newHome()
    // Left over with wider rights (an old tool, a careless copy): tightened on the next login.
    mkdirSync(join(home, 'gatehouse'), { mode: 0o755 })
    writeFileSync(join(home, 'gatehouse', 'credentials.json'), '{}', { mode: 0o644 })
    const res = await gatehouse(['login', '--url', base, '--region', 'us'], { home, answers: [user.email, PASSWORD, await totpCode(secret)] })
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain(`Signed in to ${base} as ${user.email} (us)`)
    expect(res.stderr).toContain('Password:')
    expect(res.stderr).toContain('Code from your authenticator app:')
    expect(res.stderr + res.stdout).not.toContain(PASSWORD)
    const file = join(home, 'gatehouse', 'credentials.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, 'gatehouse')).mode & 0o777).toBe(0o700)
    const saved = credentialsOf(home)
    expect(saved).toMatchObject({ url: base, region: 'us', email: user.email })
    const me = await apiCall(base, '/api/me', { token: saved.token })
    expect(me.body.data.session.level).toBe('mfa')

    const status = await gatehouse(['2fa', 'status', '--json'], { home })
    expect(status.code, status.stderr).toBe(0)
    expect(status.json()).toMatchObject({ enabled: true, methods: ['totp'], backupCodesRemaining: 10 })

    const out = await gatehouse(['logout'], { home })
    expect(out.code, out.stderr).toBe(0)
    expect(existsSync(file)).toBe(false)
    expect((await apiCall(base, '/api/me', { token: saved.token })).status).toBe(401)
  })

  it('--backup-code signs in with a recovery code; --json prints one document', async () => {
    const user = await createUser({ org: await createOrg() })
    const { recoveryCodes } = await enableTotp(user.id)
    const home = newHome()
    const res = await gatehouse(['login', '--backup-code', '--json'], { home, answers: ['us', user.email, PASSWORD, recoveryCodes[3]] })
    expect(res.code, res.stderr).toBe(0)
    expect(res.json()).toMatchObject({ ok: true, email: user.email, region: 'us', enrollmentOnly: false })
    expect(res.stderr).toContain('Recovery code:')
    const status = await gatehouse(['2fa', 'status', '--json'], { home })
    expect(status.json().backupCodesRemaining).toBe(9)
  })

  it('fails with clear messages and exit codes', async () => {
    const home = newHome()
    const wrong = await gatehouse(['login', '--region', 'us', '--email', 'member@acme.test'], { home, answers: ['not the password'] })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('Email or password is incorrect')
    expect(existsSync(join(home, 'gatehouse', 'credentials.json'))).toBe(false)

    const noAnswer = await gatehouse(['login', '--region', 'us', '--email', 'member@acme.test'], { home, answers: [] })
    expect(noAnswer.code).toBe(2)
    expect(noAnswer.stderr).toContain('no answer for "Password"')

    const notSignedIn = await gatehouse(['2fa', 'status'], { home })
    expect(notSignedIn.code).toBe(1)
    expect(notSignedIn.stderr).toContain('run "gatehouse login"')

    const unreachable = await gatehouse(['login', '--url', 'http://localhost:1', '--region', 'us', '--email', 'a@b.test'], { home, answers: ['pw'] })
    expect(unreachable.code).toBe(4)
    expect(unreachable.stderr).toContain('cannot reach the Gatehouse server at http://localhost:1')

    // A session that ended on the server: advice to sign in again.
    const ok = await gatehouse(['login', '--region', 'us', '--email', 'member@acme.test'], { home, answers: [PASSWORD] })
    expect(ok.code, ok.stderr).toBe(0)
    const member = (await db.select().from(schema.users).where(eq(schema.users.email, 'member@acme.test')))[0]
    await db.delete(schema.sessions).where(eq(schema.sessions.userId, member.id))
    const expired = await gatehouse(['2fa', 'status'], { home })
    expect(expired.code).toBe(1)
    expect(expired.stderr).toContain('run "gatehouse login" again')
    for (const r of [wrong, notSignedIn, unreachable, expired]) expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('login with an emailed code', () => {
  it('sends the code when the policy asks for email, and takes it', async () => {
    const org = await createOrg()
    await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org })
    const home = newHome()
    const since = Date.now()
    const res = await gatehouse(['login', '--region', 'us', '--email', user.email], {
      home,
      answers: [PASSWORD, { waitFor: /We sent a code/, answer: async () => (await smtp.waitFor(user.email, { since, subject: /sign-in code/ })).text.match(/code is (\d{6})/)![1] }],
    })
    expect(res.code, res.stderr).toBe(0)
    expect(res.stderr).toContain(`We sent a code to ${user.email}`)
    expect(res.stderr).toContain('Code from the email:')
    expect((await apiCall(base, '/api/me', { token: credentialsOf(home).token })).body.data.session.level).toBe('mfa')
  })
})

describe('2fa regenerate-codes, keys, disable', () => {
  it('each asks for a code, then does what it says', async () => {
    const user = await createUser({ org: await createOrg() })
    const { recoveryCodes } = await enableTotp(user.id)
    const [key] = await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: `cred-${user.id}`, publicKey: 'pk', label: 'YubiKey 5C' }).returning()
    const home = newHome()
    expect((await gatehouse(['login', '--backup-code', '--region', 'us', '--email', user.email], { home, answers: [PASSWORD, recoveryCodes[0]] })).code).toBe(0)

    const regen = await gatehouse(['2fa', 'regenerate-codes', '--json'], { home, answers: [recoveryCodes[1]] })
    expect(regen.code, regen.stderr).toBe(0)
    const fresh: string[] = regen.json().backupCodes
    expect(fresh).toHaveLength(10)

    const list = await gatehouse(['keys', 'list'], { home })
    expect(list.stdout).toContain(`${key.id}  YubiKey 5C`)
    const wrong = await gatehouse(['keys', 'remove', key.id], { home, answers: ['000000'] })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('That code is not right')
    const removed = await gatehouse(['keys', 'remove', key.id], { home, answers: [fresh[0]] })
    expect(removed.code, removed.stderr).toBe(0)
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))).toEqual([])

    const disable = await gatehouse(['2fa', 'disable'], { home, answers: [PASSWORD, fresh[1]] })
    expect(disable.code, disable.stderr).toBe(0)
    expect(disable.stdout).toContain('Two-factor authentication is off.')
    const status = await gatehouse(['2fa', 'status', '--json'], { home })
    expect(status.json()).toMatchObject({ enabled: false, backupCodesRemaining: 0 })
  })
})

describe('2fa setup', () => {
  it('prints the QR code and the secret, takes the code computed from it, and prints recovery codes', async () => {
    const user = await createUser({ org: await createOrg() })
    const home = newHome()
    const login = await gatehouse(['login', '--region', 'us', '--email', user.email], { home, answers: [PASSWORD] })
    expect(login.code, login.stderr).toBe(0)
    const res = await gatehouse(['2fa', 'setup'], {
      home,
      answers: [{ waitFor: /Secret: ([A-Z2-7]+)/, answer: async (out) => generate({ secret: /Secret: ([A-Z2-7]+)/.exec(out)![1] }) }],
    })
    expect(res.code, res.stderr).toBe(0)
    // The terminal QR code is drawn with block characters.
    expect(res.stdout).toMatch(/[▀▄█]/)
    expect(res.stdout).toMatch(/URI: otpauth:\/\/totp\//)
    expect(res.stdout).toContain('Authenticator app is on.')
    const codes = res.stdout.match(/^ {2}[a-z0-9]{4}-[a-z0-9]{4}$/gm) ?? []
    expect(codes).toHaveLength(10)
    const [factor] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(factor.confirmedAt).not.toBeNull()
    const status = await gatehouse(['2fa', 'status', '--json'], { home })
    expect(status.json()).toMatchObject({ enabled: true, backupCodesRemaining: 10 })
    // A second set-up is refused with the server's message.
    const again = await gatehouse(['2fa', 'setup'], { home })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('An authenticator app is already on')
  })
})

describe('org security', () => {
  it('set requires 2FA in every region and get shows it; a plain member is refused', async () => {
    const org = await createOrg({ regions: ['us', 'eu'] })
    const admin = await createUser({ org, role: 'admin' })
    const member = await createUser({ org, role: 'member' })
    const home = newHome()
    const memberHome = newHome()
    // Owners and admins change nothing without a second factor; a longer grace period needs it fresh (decision 056).
    const { secret } = await enableTotp(admin.id)
    expect((await gatehouse(['login', '--region', 'us', '--email', admin.email], { home, answers: [PASSWORD, await totpCode(secret)] })).code).toBe(0)
    expect((await gatehouse(['login', '--region', 'us', '--email', member.email], { home: memberHome, answers: [PASSWORD] })).code).toBe(0)
    const set = await gatehouse(['org', 'security', 'set', org.slug, '--require', '--grace-days', '10'], { home })
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toContain('Saved US: required')
    expect(set.stdout).toContain('Impact:')
    const rows = await db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, org.id))
    expect(rows.map((r) => [r.region, r.mode, r.gracePeriodDays]).sort()).toEqual([['eu', 'required', 10], ['us', 'required', 10]])

    const one = await gatehouse(['org', 'security', 'set', org.slug, '--region', 'eu', '--methods', 'totp,webauthn', '--on-deadline', 'block', '--json'], { home })
    expect(one.code, one.stderr).toBe(0)
    expect(one.json().regions[0].policy).toMatchObject({ region: 'eu', mode: 'required', allowedMethods: ['totp', 'webauthn'], onDeadline: 'block', gracePeriodDays: 10 })

    const get = await gatehouse(['org', 'security', 'get', org.slug, '--json'], { home })
    expect(get.code, get.stderr).toBe(0)
    expect(get.json().regions.map((r: { mode: string }) => r.mode)).toEqual(['required', 'required'])

    const bad = await gatehouse(['org', 'security', 'set', org.slug, '--require', '--grace-days', '500'], { home })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('Between 0 and 90 days')
    const usage = await gatehouse(['org', 'security', 'set', org.slug], { home })
    expect(usage.code).toBe(2)

    const refused = await gatehouse(['org', 'security', 'get', org.slug], { home: memberHome })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('Only owners and admins')
    const unknown = await gatehouse(['org', 'security', 'get', 'no-such-org'], { home })
    expect(unknown.code).toBe(3)

    // keys --org: the organization's API keys, listed and revoked.
    const bot = await createUser({ org, kind: 'service' })
    const issued = await apiCall(base, `/api/organizations/${org.id}/api-keys`, { json: { serviceAccountId: bot.id, name: 'nightly', scopes: ['policy:read'] }, token: credentialsOf(home).token })
    expect(issued.status).toBe(201)
    const keyId = issued.body.data.apiKey.id
    const keys = await gatehouse(['keys', 'list', '--org', org.slug], { home })
    expect(keys.code, keys.stderr).toBe(0)
    expect(keys.stdout).toContain(`${keyId}  ghk_`)
    expect(keys.stdout).toContain('nightly')
    const revoke = await gatehouse(['keys', 'remove', keyId, '--org', org.slug], { home })
    expect(revoke.code, revoke.stderr).toBe(0)
    expect((await apiCall(base, '/api/me', { token: issued.body.data.key })).status).toBe(401)
  })
})

describe('org service-account create', () => {
  it('creates the organization’s service account over the API; an address in use is refused and nothing is created', async () => {
    const org = await createOrg({ regions: ['us'] })
    const admin = await createUser({ org, role: 'admin' })
    const outsider = await createUser({ email: 'someone-else@example.test' })
    const home = newHome()
    // Owners and admins change nothing without a second factor (decision 056).
    const { secret } = await enableTotp(admin.id)
    expect((await gatehouse(['login', '--region', 'us', '--email', admin.email], { home, answers: [PASSWORD, await totpCode(secret)] })).code).toBe(0)
    const made = await gatehouse(['org', 'service-account', 'create', org.slug, '--email', 'ci-bot@example.test', '--name', 'CI bot', '--json'], { home })
    expect(made.code, made.stderr).toBe(0)
    expect(made.json().serviceAccount).toMatchObject({ email: 'ci-bot@example.test', name: 'CI bot', region: 'us' })
    const [bot] = await db.select().from(schema.users).where(eq(schema.users.email, 'ci-bot@example.test'))
    expect(bot).toMatchObject({ kind: 'service', passwordHash: null })
    expect((await db.select().from(schema.memberships).where(eq(schema.memberships.userId, bot.id))).map((m) => m.organizationId)).toEqual([org.id])

    const taken = await gatehouse(['org', 'service-account', 'create', org.slug, '--email', outsider.email, '--name', 'Grab'], { home })
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('already exists in US')
    expect(await db.select().from(schema.memberships).where(eq(schema.memberships.userId, outsider.id))).toEqual([])
  })
})

describe('2fa verify and 2fa backup-codes (decision 071)', () => {
  it('2fa verify --challenge finishes a sign-in a script started, with the challengeId as the bearer token', async () => {
    const user = await createUser({ org: await createOrg() })
    const { secret } = await enableTotp(user.id)
    // Started as reference page 002 does: email and password, no region.
    const started = await apiCall(base, '/api/auth/signin', { json: { email: user.email, password: PASSWORD } })
    const { challengeId } = started.body.data
    const home = newHome()
    const bad = await gatehouse(['2fa', 'verify', '--challenge', challengeId, '--method', 'sms'], { home })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--method must be one of totp, email, recovery_code')
    const wrong = await gatehouse(['2fa', 'verify', '--challenge', challengeId], { home, answers: ['000000'] })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('not right')
    const res = await gatehouse(['2fa', 'verify', '--challenge', challengeId, '--json'], { home, answers: [await totpCode(secret)] })
    expect(res.code, res.stderr).toBe(0)
    expect(res.json()).toMatchObject({ ok: true, email: user.email, region: 'us', enrollmentOnly: false })
    expect((await apiCall(base, '/api/me', { token: credentialsOf(home).token })).body.data.session.level).toBe('mfa')
    // Used up: the same challenge does not sign in twice.
    const again = await gatehouse(['2fa', 'verify', '--challenge', challengeId], { home, answers: [await totpCode(secret, 1)] })
    expect(again.code).toBe(1)
  })

  it('2fa verify confirms a set-up started elsewhere, checking --secret; backup-codes counts and regenerates', async () => {
    const user = await createUser({ org: await createOrg() })
    const home = newHome()
    expect((await gatehouse(['login', '--region', 'us', '--email', user.email], { home, answers: [PASSWORD] })).code).toBe(0)
    const setup = await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token: credentialsOf(home).token })
    const { secret } = setup.body.data
    const other = await gatehouse(['2fa', 'verify', '--secret', 'JBSWY3DPEHPK3PXP'], { home, answers: [await totpCode(secret)] })
    expect(other.code).toBe(1)
    expect(other.stderr).toContain('That secret is not the one being set up')
    expect((await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id)))[0].confirmedAt).toBeNull()
    const res = await gatehouse(['2fa', 'verify', '--secret', secret], { home, answers: [await totpCode(secret)] })
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain('Authenticator app is on.')
    const codes = (res.stdout.match(/^ {2}[a-z0-9]{4}-[a-z0-9]{4}$/gm) ?? []).map((c) => c.trim())
    expect(codes).toHaveLength(10)

    const count = await gatehouse(['2fa', 'backup-codes', '--json'], { home })
    expect(count.code, count.stderr).toBe(0)
    expect(count.json()).toEqual({ backupCodesRemaining: 10, enabled: true })
    expect((await gatehouse(['2fa', 'backup-codes'], { home })).stdout).toContain('Recovery codes left: 10 of 10')
    const wrong = await gatehouse(['2fa', 'backup-codes', '--regenerate'], { home, answers: ['zzzz-zzzz'] })
    expect(wrong.code).toBe(1)
    const regen = await gatehouse(['2fa', 'backup-codes', '--regenerate', '--json'], { home, answers: [codes[0]] })
    expect(regen.code, regen.stderr).toBe(0)
    const fresh: string[] = regen.json().backupCodes
    expect(fresh).toHaveLength(10)
    expect(fresh).not.toContain(codes[1])
    const help = await gatehouse(['2fa', 'backup-codes', '--help'], { home })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--regenerate')
  })
})
