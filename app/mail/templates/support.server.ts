import { footer, fromCatalog, when, type Params, type Template } from '../templates.server.ts'
import type { MailT } from '../language.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

const BY: Record<string, string> = {
  support: 'Gatehouse support',
  org_admin: 'an administrator of your organization',
  cli: 'a Gatehouse operator',
}

/** Who acted, in the member's language (the mail catalogs' `by.*`). */
const by = (p: Params, t: MailT) => t(`by.${String(p.by) in BY ? String(p.by) : 'support'}`) as string
const org = (p: Params, t: MailT) => (p.orgName ? (t('orgSuffix', { name: p.orgName }) as string) : '')

/** Templates of the support area (see templates.server.ts for the shape and what `mints` means). */
export const supportTemplates = {
  /** After any MFA reset (support, org admin or CLI). Carries the "freeze my account" link. */
  mfa_reset: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s, t) => fromCatalog(t, 'mfa_reset', { when: when(p), by: by(p, t), org: org(p, t), url: s.url }),
  },
  /** After a temporary access code was issued (decision 070). Carries the "freeze my account" link; never the code. */
  temporary_access_issued: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s, t) => fromCatalog(t, 'temporary_access_issued', { when: when(p), by: by(p, t), org: org(p, t), expires: t('dateStyle') === 'iso' ? formatUtc(new Date(String(p.expiresAt))) : new Date(String(p.expiresAt)).toUTCString(), url: s.url }),
  },
  /** To every other support person: a reset or an unlock waits for a second person (two-person rule). */
  support_approval_requested: {
    render: (p) => ({
      subject: `Approval needed: ${p.action === 'unlock' ? 'unlock' : p.action === 'temporary_access' ? 'temporary access code' : '2FA reset'} of ${p.targetEmail}`,
      text:
        `${p.requesterEmail} asked to ${p.action === 'unlock' ? 'unlock the account of' : p.action === 'temporary_access' ? 'issue a temporary access code for' : 'reset the two-factor authentication of'} ${p.targetEmail} on ${when(p)}.\n` +
        `Why a second person is needed: ${p.why}\nTicket: ${p.ticket || '-'}\nReason: ${p.reason}\n\n` +
        `Review it, after checking the member's identity yourself, before it expires on ${formatUtc(new Date(String(p.expiresAt)))}:\n${p.url}${footer}`,
    }),
  },
  /** To every support person: a member froze their account from a notice ("this wasn't me"). */
  support_account_frozen: {
    render: (p) => ({
      subject: `Account frozen by its member: ${p.memberEmail}`,
      text:
        `${p.memberEmail} (${String(p.memberRegion).toUpperCase()}) froze their account on ${when(p)} from the link in a security notice: ` +
        `they did not recognise a change to their account. Sessions and remembered devices were ended; nobody can sign in until support unlocks it.\n\n` +
        `Contact the member, check their identity, and review the recent security events:\n${p.url}${footer}`,
    }),
  },
} satisfies Record<string, Template>
