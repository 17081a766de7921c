import { fromCatalog, when, type Template } from '../templates.server.ts'
import type { MailT } from '../language.server.ts'

/** Templates of the mfa area (see templates.server.ts for the shape and what `mints` means); words in the mail catalogs. */

/** Every change to a factor ends the member's other sessions (decision 061); its notice says so. */
const signedOut = (t: MailT) => t('signedOutElsewhere') as string

/**
 * The factor named in a notice: the domain writes it in English (`params.factor` / `params.what`);
 * the known phrases are put in the recipient's language, anything else is shown as written.
 */
function factorPhrase(t: MailT, phrase: unknown): string {
  const text = String(phrase)
  const key = /^the security key "(.*)"$/s.exec(text)
  if (key) return t('factor.key', { label: key[1] }) as string
  const known: Record<string, string> = { 'an authenticator app': 'factor.totpAdded', 'your authenticator app': 'factor.totpRemoved', 'every authenticator app and security key': 'factor.all' }
  return known[text] ? (t(known[text]) as string) : text
}

export const mfaTemplates = {
  /** Sign-in: the code and a link to the confirm page of the same pending sign-in. */
  email_code_sign_in: {
    mints: { code: true, link: { purpose: 'email_code', path: '/login/email/' } },
    render: (_p, s, t) => fromCatalog(t, 'email_code_sign_in', { code: s.code, url: s.url }),
  },
  /** Sign-in through the JSON API or the CLI: the code only (the web's link needs the browser's pending cookie). */
  email_code_api_sign_in: {
    mints: { code: true },
    render: (_p, s, t) => fromCatalog(t, 'email_code_api_sign_in', { code: s.code }),
  },
  /** Step-up (confirming a sensitive change) for members with no app or key. */
  email_code: {
    mints: { code: true },
    render: (_p, s, t) => fromCatalog(t, 'email_code', { code: s.code }),
  },
  factor_added: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s, t) => fromCatalog(t, 'factor_added', { factor: factorPhrase(t, p.factor), when: when(p), signedOut: signedOut(t), url: s.url }),
  },
  /** The authenticator app moved to a new secret (a new phone): the old app's codes stop working. */
  totp_replaced: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s, t) => fromCatalog(t, 'totp_replaced', { when: when(p), signedOut: signedOut(t), url: s.url }),
  },
  factor_removed: {
    render: (p, _s, t) => fromCatalog(t, 'factor_removed', { what: factorPhrase(t, p.what), when: when(p), signedOut: signedOut(t) }),
  },
  mfa_disabled: {
    render: (p, _s, t) => fromCatalog(t, 'mfa_disabled', { what: factorPhrase(t, p.what), when: when(p), signedOut: signedOut(t) }),
  },
  recovery_code_used: {
    render: (p, _s, t) =>
      fromCatalog(t, 'recovery_code_used', { remaining: p.remaining, when: when(p), low: p.low ? t('recovery_code_used.low') : '' }, undefined, p.low ? 'recovery_code_used.subjectLow' : undefined),
  },
  recovery_codes_regenerated: {
    render: (p, _s, t) => fromCatalog(t, 'recovery_codes_regenerated', { when: when(p), signedOut: signedOut(t) }),
  },
  totp_replay: {
    render: (p, _s, t) => fromCatalog(t, 'totp_replay', { when: when(p), from: p.ip ? t('totp_replay.from', { ip: p.ip }) : '' }),
  },
  mfa_failures: {
    render: (p, _s, t) => fromCatalog(t, 'mfa_failures', { attempts: p.count, when: when(p), from: p.ip ? t('mfa_failures.from', { ip: p.ip }) : '' }),
  },
} satisfies Record<string, Template>
