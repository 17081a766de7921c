/** METRICS_ALLOW: which TCP peers may read /metrics (decision 067). */
import { describe, expect, it } from 'vitest'
import { addressMatcher, parseAddressRanges } from './address-ranges.ts'

describe('address ranges', () => {
  it('loopback, ranges and single addresses; IPv4 seen through an IPv6 socket counts as IPv4', () => {
    const problems: string[] = []
    const allowed = addressMatcher(parseAddressRanges('loopback, 10.0.0.0/8, 192.0.2.7, fd00::/8', problems, 'METRICS_ALLOW'))
    expect(problems).toEqual([])
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.0.2.7', 'fd12::1']) expect(allowed(a), a).toBe(true)
    for (const a of ['192.0.2.8', '11.0.0.1', '::2', '::ffff:192.0.2.8', 'fe80::1', '', undefined, 'localhost']) expect(allowed(a), String(a)).toBe(false)
  })

  it('a range without loopback refuses loopback; an empty list refuses everyone', () => {
    expect(addressMatcher(parseAddressRanges('10.0.0.0/8', [], 'M'))('127.0.0.1')).toBe(false)
    expect(addressMatcher([])('127.0.0.1')).toBe(false)
  })

  it('names every entry it cannot read', () => {
    const problems: string[] = []
    parseAddressRanges('10.0.0.0/33, example.com, 10.0.0.1, ::1/129', problems, 'METRICS_ALLOW')
    expect(problems).toEqual(['METRICS_ALLOW: "10.0.0.0/33", "example.com", "::1/129" are not an address, a range (10.0.0.0/8) or loopback'])
  })
})
