import { hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '#app/config/env.server.ts'

const good = {
  SESSION_SECRET: 'x'.repeat(40),
  GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
}

function problems(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env)
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  return []
}

describe('configuration', () => {
  it('has working defaults for everything but the secrets', () => {
    const config = parseConfig({ ...good, NODE_ENV: 'development' })
    // The app connects as a role that owns nothing; migrations run as the owner (decision 058).
    expect(config.databaseUrl).toBe('postgres://gatehouse_app@127.0.0.1:5432/gatehouse')
    expect(config.databaseOwnerUrl).toBe('postgres://postgres@127.0.0.1:5432/gatehouse')
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
    expect(config.appOrigin).toBe('http://localhost:3000')
    expect(config.regions.map((r) => r.code)).toEqual(['us', 'eu', 'jp', 'kr'])
    expect(config.regions.every((r) => r.origin === 'http://localhost:3000' && r.rpId === 'localhost')).toBe(true)
    expect(config.regions.find((r) => r.code === 'eu')?.issuer).toBe('Gatehouse (EU)')
    expect(config.secureCookies).toBe(false)
    expect(config.devMailbox).toBe(true)
  })

  it('lists every problem at once, each with how to fix it', () => {
    const list = problems({ DATABASE_URL: 'mysql://x', REDIS_URL: 'http://nope', GATEHOUSE_REGIONS: 'us,EU!', PORT: 'abc' })
    expect(list.some((p) => p.startsWith('SESSION_SECRET') && p.includes('openssl rand'))).toBe(true)
    expect(list.some((p) => p.startsWith('GATEHOUSE_ENCRYPTION_KEYS'))).toBe(true)
    expect(list.some((p) => p.startsWith('DATABASE_URL') && p.includes('postgres://'))).toBe(true)
    expect(list.some((p) => p.startsWith('REDIS_URL'))).toBe(true)
    expect(list.some((p) => p.startsWith('PORT'))).toBe(true)
    expect(list.length).toBeGreaterThanOrEqual(5)
    try {
      parseConfig({})
    } catch (e) {
      expect((e as Error).message).toMatch(/cannot start: the configuration has \d+ problems/)
    }
  })

  it('refuses malformed keys, IP origins and production without SMTP', () => {
    expect(problems({ ...good, GATEHOUSE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' })[0]).toMatch(/must be 32 bytes/)
    expect(problems({ ...good, GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')},k1:${Buffer.alloc(32).toString('base64')}` })[0]).toMatch(/appears twice/)
    expect(problems({ ...good, APP_ORIGIN: 'http://127.0.0.1:3000' }).join()).toMatch(/WebAuthn/)
    expect(problems({ ...good, NODE_ENV: 'production' }).join()).toMatch(/SMTP_URL: is required in production/)
    // Unset means production (decision 062): the message says so, and how to get the mailbox instead.
    expect(problems(good)).toEqual([expect.stringMatching(/^SMTP_URL: is required in production \(NODE_ENV is unset, which means production; .*NODE_ENV=development/)])
    expect(problems({ ...good, NODE_ENV: 'production', SMTP_URL: 'smtp://mail', GATEHOUSE_FAST_HASH: '1' }).join()).toMatch(/refused in production/)
  })

  it('serves https origins with secure cookies and per-region origins', () => {
    const config = parseConfig({ ...good, NODE_ENV: 'development', APP_ORIGIN: 'https://gatehouse.example', GATEHOUSE_REGIONS: 'us,eu=https://eu.gatehouse.example' })
    expect(config.secureCookies).toBe(true)
    expect(config.regions[1]).toMatchObject({ code: 'eu', origin: 'https://eu.gatehouse.example', rpId: 'eu.gatehouse.example' })
  })
})

describe('the development mailbox and the hash key ring (decision 062)', () => {
  it('opens the mailbox only with NODE_ENV=development said explicitly and no SMTP_URL', () => {
    expect(parseConfig({ ...good, NODE_ENV: 'development' }).devMailbox).toBe(true)
    expect(parseConfig({ ...good, NODE_ENV: 'development', SMTP_URL: 'smtp://mail' }).devMailbox).toBe(false)
    expect(parseConfig({ ...good, NODE_ENV: 'test' }).devMailbox).toBe(false)
    const unset = parseConfig({ ...good, SMTP_URL: 'smtp://mail' })
    expect(unset.env).toBe('production')
    expect(unset.devMailbox).toBe(false)
  })

  it('reads GATEHOUSE_HASH_KEYS as a ring, and without it derives one key from SESSION_SECRET', () => {
    const a = Buffer.alloc(32, 2).toString('base64')
    const b = Buffer.alloc(32, 3).toString('base64')
    const ring = parseConfig({ ...good, NODE_ENV: 'test', GATEHOUSE_HASH_KEYS: `h2:${b},h1:${a}` }).hashKeys
    expect(ring.map((k) => k.id)).toEqual(['h2', 'h1'])
    expect(ring[0].key.equals(Buffer.alloc(32, 3))).toBe(true)
    const derived = parseConfig({ ...good, NODE_ENV: 'test' }).hashKeys
    expect(derived.map((k) => k.id)).toEqual(['session-secret'])
    // The key the README's one-liner prints to pin it before SESSION_SECRET changes.
    expect(derived[0].key.equals(Buffer.from(hkdfSync('sha256', good.SESSION_SECRET, 'gatehouse', 'keyed-hash v1', 32)))).toBe(true)
    // With a ring of its own, SESSION_SECRET changes nothing about the hashes.
    const other = parseConfig({ ...good, NODE_ENV: 'test', SESSION_SECRET: 'z'.repeat(40), GATEHOUSE_HASH_KEYS: `h2:${b},h1:${a}` }).hashKeys
    expect(other.map((k) => k.key.toString('base64'))).toEqual(ring.map((k) => k.key.toString('base64')))
    expect(parseConfig({ ...good, NODE_ENV: 'test', SESSION_SECRET: 'y'.repeat(40) }).hashKeys[0].key.equals(derived[0].key)).toBe(false)
    expect(problems({ ...good, NODE_ENV: 'test', GATEHOUSE_HASH_KEYS: 'h1:c2hvcnQ=' })).toEqual(['GATEHOUSE_HASH_KEYS: key "h1" must be 32 bytes in base64 (openssl rand -base64 32), got 5'])
    expect(problems({ ...good, NODE_ENV: 'test', GATEHOUSE_HASH_KEYS: 'nonsense' })[0]).toMatch(/^GATEHOUSE_HASH_KEYS: "nonsense…" needs the form id:base64/)
  })
})
