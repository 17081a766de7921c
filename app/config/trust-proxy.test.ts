/**
 * TRUST_PROXY takes Express's own trust-proxy values, a hop count or a list of addresses and
 * ranges, is off by default, and refuses `true` with the reason (decision 060). Each accepted
 * value is also handed to Express, which must take it and trust what it says.
 */
import express from 'express'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from './env.server.ts'

const good = {
  NODE_ENV: 'test',
  SESSION_SECRET: 'x'.repeat(40),
  GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
}

function parse(value: string | undefined) {
  return parseConfig({ ...good, TRUST_PROXY: value }).trustProxy
}

function problems(value: string): string[] {
  try {
    parseConfig({ ...good, TRUST_PROXY: value })
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  return []
}

/** Express's compiled trust function for the value: does it trust `address` at hop `hop`? */
function expressTrusts(value: ReturnType<typeof parse>, address: string, hop = 0) {
  const app = express()
  app.set('trust proxy', value)
  return (app.get('trust proxy fn') as (addr: string, i: number) => boolean)(address, hop)
}

describe('TRUST_PROXY', () => {
  it('is off by default, and when set empty, false or 0', () => {
    for (const value of [undefined, '', 'false', '0']) expect(parse(value)).toBe(false)
    expect(expressTrusts(parse(undefined), '127.0.0.1')).toBe(false)
  })

  it('takes a hop count', () => {
    expect(parse('1')).toBe(1)
    expect(parse(' 2 ')).toBe(2)
    expect(expressTrusts(parse('1'), '203.0.113.9', 0)).toBe(true)
    expect(expressTrusts(parse('1'), '203.0.113.9', 1)).toBe(false)
  })

  it('takes addresses, ranges and Express’s named ranges', () => {
    expect(parse('loopback')).toEqual(['loopback'])
    expect(parse('loopback, 10.0.0.0/8, 192.168.1.7, fd00::/8, uniquelocal, linklocal, 172.16.0.0/255.240.0.0')).toEqual([
      'loopback', '10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'uniquelocal', 'linklocal', '172.16.0.0/255.240.0.0',
    ])
    const value = parse('loopback, 10.0.0.0/8')
    expect(expressTrusts(value, '10.1.2.3')).toBe(true)
    expect(expressTrusts(value, '127.0.0.1')).toBe(true)
    expect(expressTrusts(value, '203.0.113.9')).toBe(false)
  })

  it('refuses true, saying why', () => {
    for (const value of ['true', 'TRUE', ' true ']) {
      const list = problems(value)
      expect(list).toHaveLength(1)
      expect(list[0]).toMatch(/^TRUST_PROXY: "true" would trust every address in X-Forwarded-For, so any client could choose its own address for rate limits and the audit log/)
      expect(list[0]).toContain('e.g. 1')
    }
  })

  it('refuses what Express would not take, or would take to mean something else', () => {
    expect(problems('10.0.0.0/33')[0]).toMatch(/^TRUST_PROXY: "10.0.0.0\/33" is not a proxy count, an address, a range/)
    expect(problems('loopback, proxy.internal, 300.1.1.1')[0]).toMatch(/"proxy.internal", "300.1.1.1" are not/)
    expect(problems('yes')).toHaveLength(1)
    expect(problems('-1')).toHaveLength(1)
    expect(problems('1000')[0]).toMatch(/^TRUST_PROXY: 1000 proxy hops/)
    expect(problems('loopback,')).toHaveLength(1)
  })
})
