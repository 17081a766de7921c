/**
 * Email templates, plain text. A template that carries a code or a link declares it: the mail
 * worker mints the secret from the verification when it sends, so no secret is ever queued.
 */
import { mfaTemplates } from './templates/mfa.server.ts'
import { policyTemplates } from './templates/policy.server.ts'
import { supportTemplates } from './templates/support.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

export type Params = Record<string, unknown>
export type LinkPurpose = 'password_reset' | 'invite' | 'login' | 'email_code' | 'freeze'
export type Secret = { code?: string; url?: string }

export type Template = {
  /** What the worker must mint from the email's verification before rendering. */
  mints?: { code?: true; link?: { purpose: LinkPurpose; path: string } }
  render: (p: Params, secret: Secret) => { subject: string; text: string }
}

export const footer = '\n\n— Gatehouse\nYou receive this because of your Gatehouse account. If something here surprises you, contact your administrator.'
export const when = (p: Params) => formatUtc(p.at ? new Date(String(p.at)) : new Date())

export const TEMPLATES = {
  password_reset: {
    mints: { link: { purpose: 'password_reset', path: '/reset-password/' } },
    render: (_p, s) => ({
      subject: 'Reset your Gatehouse password',
      text: `Someone asked to reset the password of this account.\n\nTo choose a new password, open this link within 30 minutes:\n${s.url}\n\nIf it wasn't you, ignore this email: your password stays as it is.${footer}`,
    }),
  },
  password_changed: {
    render: (p) => ({
      subject: 'Your Gatehouse password was changed',
      text: `The password of your account was changed on ${when(p)}, and every session was signed out.\n\nIf this wasn't you, contact your administrator at once.${footer}`,
    }),
  },
  account_locked: {
    render: (p) => ({
      subject: 'Your Gatehouse account is locked',
      text: `After ${p.threshold} failed sign-in attempts your account is locked until ${p.until}.\n\nIf these attempts were not yours, your password may be known to someone else: change it once the lock lifts, or ask support.${footer}`,
    }),
  },
} satisfies Record<string, Template>

export type TemplateName = keyof typeof TEMPLATES | keyof typeof mfaTemplates | keyof typeof policyTemplates | keyof typeof supportTemplates

/** Every template, by name: account templates above, and one file per area under templates/. */
const REGISTRY: Record<string, Template> = { ...TEMPLATES, ...mfaTemplates, ...policyTemplates, ...supportTemplates }

export function getTemplate(name: string): Template | undefined {
  return REGISTRY[name]
}
