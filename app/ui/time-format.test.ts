import { describe, expect, it } from 'vitest'
import { formatDays, formatLocal, formatRelative, formatUtc } from './time-format.ts'

const at = new Date('2026-11-30T19:31:42Z')

describe('formatUtc', () => {
  it('writes a date-time and a date the same way in every locale', () => {
    expect(formatUtc(at)).toBe('2026-11-30 19:31 UTC')
    expect(formatUtc(at, 'date')).toBe('30 Nov 2026')
    expect(formatUtc(new Date('2027-01-05T00:00:00Z'), 'date')).toBe('5 Jan 2027')
  })
})

describe('formatRelative', () => {
  it('says recent times relatively, in both directions', () => {
    expect(formatRelative(new Date(at.getTime() - 10_000), at, 'en')).toBe('just now')
    expect(formatRelative(new Date(at.getTime() - 3 * 60_000), at, 'en')).toBe('3 minutes ago')
    expect(formatRelative(new Date(at.getTime() - 5 * 3_600_000), at, 'en')).toBe('5 hours ago')
    expect(formatRelative(new Date(at.getTime() + 2 * 3_600_000), at, 'en')).toBe('in 2 hours')
  })
  it('gives up at a day', () => {
    expect(formatRelative(new Date(at.getTime() - 24 * 3_600_000), at, 'en')).toBeNull()
    expect(formatRelative(new Date(at.getTime() + 30 * 24 * 3_600_000), at, 'en')).toBeNull()
  })
})

describe('formatLocal', () => {
  it('writes older times in the reader’s time zone', () => {
    const old = new Date('2026-01-15T23:30:00Z')
    const tokyo = formatLocal(old, { now: at, locale: 'en-GB', timeZone: 'Asia/Tokyo' })
    expect(tokyo).toContain('16 Jan 2026')
    expect(tokyo).toContain('08:30')
    const ny = formatLocal(old, { now: at, locale: 'en-GB', timeZone: 'America/New_York', style: 'date' })
    expect(ny).toBe('15 Jan 2026')
  })
  it('uses the relative form for recent date-times only', () => {
    const recent = new Date(at.getTime() - 3 * 60_000)
    expect(formatLocal(recent, { now: at, locale: 'en' })).toBe('3 minutes ago')
    expect(formatLocal(recent, { now: at, locale: 'en-GB', timeZone: 'UTC', style: 'date' })).toBe('30 Nov 2026')
  })
})

describe('formatDays', () => {
  it('reads short periods as days, not "0 years"', () => {
    expect(formatDays(30)).toBe('30 days')
    expect(formatDays(1)).toBe('1 day')
    expect(formatDays(364)).toBe('364 days')
  })
  it('names whole years with the exact days', () => {
    expect(formatDays(2557)).toBe('7 years (2,557 days)')
    expect(formatDays(365)).toBe('1 year (365 days)')
    expect(formatDays(400)).toBe('about 1 year (400 days)')
  })
})
