import { expect, it } from 'vitest'
import { groupsOfFour, recoveryCodesText } from './secret-format.ts'

it('writes a secret in groups of four', () => {
  expect(groupsOfFour('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')).toBe('JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP')
  expect(groupsOfFour('ABCDEF')).toBe('ABCD EF')
  expect(groupsOfFour('ABCD EFGH')).toBe('ABCD EFGH')
  expect(groupsOfFour('')).toBe('')
})

it('names the account and the day with the codes', () => {
  const text = recoveryCodesText(['aaaa-bbbb', 'cccc-dddd'], 'ana@acme.test', '2026-11-30T20:00:00.000Z')
  expect(text).toContain('ana@acme.test')
  expect(text).toContain('Issued 2026-11-30.')
  expect(text).toMatch(/\naaaa-bbbb\ncccc-dddd\n$/)
})
