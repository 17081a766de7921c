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

it('writes the file in the page language, and the English as before on an English page', async () => {
  const { i18nFor } = await import('#app/i18n/i18n.ts')
  const codes = ['aaaa-bbbb', 'cccc-dddd']
  const english = recoveryCodesText(codes, 'ana@acme.test', '2026-11-30T20:00:00.000Z')
  expect(english).toBe('Gatehouse recovery codes for ana@acme.test\nIssued 2026-11-30. Each code works once. Keep them somewhere safe.\n\naaaa-bbbb\ncccc-dddd\n')
  // The English catalog says exactly what the file always said.
  expect(recoveryCodesText(codes, 'ana@acme.test', '2026-11-30T20:00:00.000Z', i18nFor('en').t)).toBe(english)
  expect(recoveryCodesText(codes, 'kenji@example.test', '2026-11-30T20:00:00.000Z', i18nFor('ja').t)).toBe('Gatehouse のリカバリーコード（kenji@example.test）\n発行日：2026-11-30。各コードは1回だけ使えます。安全な場所に保管してください。\n\naaaa-bbbb\ncccc-dddd\n')
  expect(recoveryCodesText(codes, 'minji@example.test', '2026-11-30T20:00:00.000Z', i18nFor('ko').t)).toBe('Gatehouse 복구 코드 (minji@example.test)\n발급일: 2026-11-30. 각 코드는 한 번만 사용할 수 있습니다. 안전한 곳에 보관하세요.\n\naaaa-bbbb\ncccc-dddd\n')
})
