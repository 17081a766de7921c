/** "JBSW Y3DP EHPK 3PXP": a secret typed by hand is read in groups of four (the copy keeps no spaces). */
export const groupsOfFour = (secret: string) => secret.replace(/\s+/g, '').match(/.{1,4}/g)?.join(' ') ?? ''

/** What Copy puts on the clipboard for a set of recovery codes, and what Print shows beside them. */
export function recoveryCodesText(codes: string[], account: string, issuedAt: string) {
  return `Gatehouse recovery codes for ${account}\nIssued ${issuedAt.slice(0, 10)}. Each code works once. Keep them somewhere safe.\n\n${codes.join('\n')}\n`
}
