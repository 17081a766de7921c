import { footer, type Params, type Template } from '../templates.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

const date = (v: unknown) => formatUtc(new Date(String(v)), 'date')
const methods = (p: Params) => (Array.isArray(p.methods) ? (p.methods as string[]) : []).map((m) => ({ email: 'email code', totp: 'authenticator app', webauthn: 'security key' })[m] ?? m).join(', ')
const consequence = (p: Params) =>
  p.onDeadline === 'block'
    ? 'After that date you will not be able to sign in until an administrator helps you.'
    : 'After that date, signing in will take you straight to setting one up before anything else.'

/** Templates of the policy area (see templates.server.ts for the shape and what `mints` means). */
export const policyTemplates = {
  grace_reminder: {
    render: (p) => ({
      subject: `Set up two-factor authentication by ${date(p.deadline)}`,
      text: `${p.organization} requires two-factor authentication for your account (${String(p.region ?? '').toUpperCase()}).\n\nYou have until ${date(p.deadline)} (${p.offsetDays} day${p.offsetDays === 1 ? '' : 's'} left) to set up one of: ${methods(p)}.\n${consequence(p)}\n\nSign in and open Security settings to set it up now.${footer}`,
    }),
  },
  policy_required: {
    render: (p) => ({
      subject: `${p.organization} now requires two-factor authentication`,
      text: p.deadline
        ? `${p.organization} now requires two-factor authentication in ${String(p.region ?? '').toUpperCase()}.\n\nYou have until ${date(p.deadline)} to set up one of: ${methods(p)}.\n${consequence(p)}${footer}`
        : `${p.organization} now requires two-factor authentication in ${String(p.region ?? '').toUpperCase()}. Your account already has an allowed factor: you will be asked for it when you sign in.${footer}`,
    }),
  },
  policy_disabled: {
    render: (p) => ({
      subject: `${p.organization} turned off two-factor authentication`,
      text: `${p.organization} no longer asks for a second factor in ${String(p.region ?? '').toUpperCase()}. Factors you enrolled are kept and will be used again if the policy changes.\n\nIf this surprises you, contact your administrator.${footer}`,
    }),
  },
  deadline_extended: {
    render: (p) => ({
      subject: 'Your deadline for two-factor authentication was extended',
      text: `${p.organization} extended your deadline to set up two-factor authentication to ${date(p.deadline)}.${footer}`,
    }),
  },
  invite: {
    mints: { link: { purpose: 'invite', path: '/invite/' } },
    render: (p, s) => ({
      subject: `You are invited to ${p.organization} on Gatehouse`,
      text: `${p.inviter} invited you to join ${p.organization} on Gatehouse.\n\nTo accept and choose your password, open this link within 7 days:\n${s.url}${footer}`,
    }),
  },
  // To an address that already has an account: no token, nothing joins until the holder accepts signed in (decision 055).
  invitation: {
    render: (p) => ({
      subject: `You are invited to ${p.organization} on Gatehouse`,
      text: `${p.inviter} invited your Gatehouse account (${String(p.region ?? '').toUpperCase()}) to join ${p.organization} as ${p.role === 'member' ? 'a member' : `an ${p.role}`}.\n\nNothing changes unless you accept. To see what ${p.organization} asks at sign-in and to accept or decline, sign in and open Security settings within 7 days:\n${p.signInUrl}\n\nIf you do not know ${p.organization}, decline or ignore this email.${footer}`,
    }),
  },
} satisfies Record<string, Template>
