import { footer, when, type Template } from '../templates.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

const BY: Record<string, string> = {
  support: 'Gatehouse support',
  org_admin: 'an administrator of your organization',
  cli: 'a Gatehouse operator',
}

/** Templates of the support area (see templates.server.ts for the shape and what `mints` means). */
export const supportTemplates = {
  /** After any MFA reset (support, org admin or CLI). Carries the "freeze my account" link. */
  mfa_reset: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s) => ({
      subject: 'Your Gatehouse two-factor authentication was reset',
      text:
        `On ${when(p)}, ${BY[String(p.by)] ?? 'Gatehouse support'}${p.orgName ? ` (${p.orgName})` : ''} reset the two-factor authentication of your account.\n\n` +
        `What changed:\n` +
        `- Every authenticator app, security key and passkey was removed from your account.\n` +
        `- Your recovery codes no longer work.\n` +
        `- Remembered devices were forgotten, and every session was signed out.\n\n` +
        `What to do next:\n` +
        `1. Sign in with your password. We will send a one-time code to this email address to confirm it is you.\n` +
        `2. Set up an authenticator app or a security key again under Security settings (your organization may require it before you can continue).\n` +
        `3. Save the new recovery codes somewhere safe.\n\n` +
        `If you did not ask for this, freeze your account now. Nobody can sign in to it until support has talked to you:\n${s.url}\n` +
        `The link works for 7 days.${footer}`,
    }),
  },
  /** After a temporary access code was issued (decision 070). Carries the "freeze my account" link; never the code. */
  temporary_access_issued: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s) => ({
      subject: 'A temporary access code was issued for your Gatehouse account',
      text:
        `On ${when(p)}, ${BY[String(p.by)] ?? 'Gatehouse support'}${p.orgName ? ` (${p.orgName})` : ''} issued a temporary access code for your account, after checking who you are.\n\n` +
        `The code was given to you directly, never by email. It works once, until ${new Date(String(p.expiresAt)).toUTCString()}: after your password, choose "Use a temporary access code", then add a new authenticator app or security key.\n` +
        `Your other factors, recovery codes and remembered devices were not changed; remove the ones you lost under Security settings.\n\n` +
        `If you did not ask for this, freeze your account now. The code stops working and nobody can sign in until support has talked to you:\n${s.url}\n` +
        `The link works for 7 days.${footer}`,
    }),
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
