/**
 * Email templates, plain text. A template that carries a code or a link declares it: the mail
 * worker mints the secret from the verification when it sends, so no secret is ever queued.
 * Members' mail is worded in the catalogs (app/i18n/locales/{en,ja,ko}/mail.json) and rendered in
 * the recipient's language, `t` (decision 079); mail to support staff stays English, in code.
 */
import { mfaTemplates } from './templates/mfa.server.ts'
import { policyTemplates } from './templates/policy.server.ts'
import { supportTemplates } from './templates/support.server.ts'
import type { MailT } from './language.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

export type Params = Record<string, unknown>
export type LinkPurpose = 'password_reset' | 'invite' | 'login' | 'email_code' | 'freeze'
export type Secret = { code?: string; url?: string }

export type Template = {
  /** What the worker must mint from the email's verification before rendering. */
  mints?: { code?: true; link?: { purpose: LinkPurpose; path: string } }
  render: (p: Params, secret: Secret, t: MailT) => { subject: string; text: string }
}

/** The English footer, for the staff templates written in code. */
export const footer = '\n\n— Gatehouse\nYou receive this because of your Gatehouse account. If something here surprises you, contact your administrator.'
export const when = (p: Params) => formatUtc(p.at ? new Date(String(p.at)) : new Date())

/** A member's email from the catalog: `name.subject`, and `name.text` (or `textKey`) with the footer. */
export function fromCatalog(t: MailT, name: string, values: Record<string, unknown> = {}, textKey = `${name}.text`, subjectKey = `${name}.subject`) {
  return { subject: t(subjectKey, values) as string, text: (t(textKey, values) as string) + (t('footer') as string) }
}

export const TEMPLATES = {
  password_reset: {
    mints: { link: { purpose: 'password_reset', path: '/reset-password/' } },
    render: (_p, s, t) => fromCatalog(t, 'password_reset', { url: s.url }),
  },
  password_changed: {
    render: (p, _s, t) => fromCatalog(t, 'password_changed', { when: when(p) }),
  },
  account_locked: {
    render: (p, _s, t) => fromCatalog(t, 'account_locked', { threshold: p.threshold, until: p.until }),
  },
} satisfies Record<string, Template>

export type TemplateName = keyof typeof TEMPLATES | keyof typeof mfaTemplates | keyof typeof policyTemplates | keyof typeof supportTemplates

/** Every template, by name: account templates above, and one file per area under templates/. */
const REGISTRY: Record<string, Template> = { ...TEMPLATES, ...mfaTemplates, ...policyTemplates, ...supportTemplates }

export function getTemplate(name: string): Template | undefined {
  return REGISTRY[name]
}
