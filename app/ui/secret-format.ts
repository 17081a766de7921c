import type { TFunction } from 'i18next'

/** "JBSW Y3DP EHPK 3PXP": a secret typed by hand is read in groups of four (the copy keeps no spaces). */
export const groupsOfFour = (secret: string) => secret.replace(/\s+/g, '').match(/.{1,4}/g)?.join(' ') ?? ''

/**
 * What Copy puts on the clipboard for a set of recovery codes, and what Download .txt saves. With
 * a Japanese or Korean page's `t`, its two lines are in that language (ui.recoveryCodes.file*,
 * decision 079); without one (or on an English page) the English is as it always was.
 */
export function recoveryCodesText(codes: string[], account: string, issuedAt: string, t?: TFunction) {
  const date = issuedAt.slice(0, 10)
  if (t) {
    const heading = t('ui.recoveryCodes.fileHeading', { ns: 'pages', account }) as string
    const issued = t('ui.recoveryCodes.fileIssued', { ns: 'pages', date }) as string
    return `${heading}\n${issued}\n\n${codes.join('\n')}\n`
  }
  return `Gatehouse recovery codes for ${account}\nIssued ${date}. Each code works once. Keep them somewhere safe.\n\n${codes.join('\n')}\n`
}
