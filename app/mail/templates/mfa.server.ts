import { footer, when, type Template } from '../templates.server.ts'

/** Templates of the mfa area (see templates.server.ts for the shape and what `mints` means). */

/** Every change to a factor ends the member's other sessions (decision 061); its notice says so. */
const SIGNED_OUT_ELSEWHERE = 'Every other browser and API session token signed in to your account was signed out; the one that made the change stays signed in.'
export const mfaTemplates = {
  /** Sign-in: the code and a link to the confirm page of the same pending sign-in. */
  email_code_sign_in: {
    mints: { code: true, link: { purpose: 'email_code', path: '/login/email/' } },
    render: (_p, s) => ({
      subject: `Your Gatehouse sign-in code: ${s.code}`,
      text: `Your sign-in code is ${s.code}\n\nIt works for 10 minutes, once, in the browser where you asked for it.\n\nOr open this link in that same browser to finish signing in:\n${s.url}\n\nIf you did not try to sign in, someone knows your password: change it now.${footer}`,
    }),
  },
  /** Sign-in through the JSON API or the CLI: the code only (the web's link needs the browser's pending cookie). */
  email_code_api_sign_in: {
    mints: { code: true },
    render: (_p, s) => ({
      subject: `Your Gatehouse sign-in code: ${s.code}`,
      text: `Your sign-in code is ${s.code}\n\nIt works for 10 minutes, once. It was asked for by a script or the gatehouse command-line tool.\n\nIf you did not try to sign in, someone knows your password: change it now.${footer}`,
    }),
  },
  /** Step-up (confirming a sensitive change) for members with no app or key. */
  email_code: {
    mints: { code: true },
    render: (_p, s) => ({
      subject: `Your Gatehouse confirmation code: ${s.code}`,
      text: `Your confirmation code is ${s.code}\n\nIt works for 10 minutes, once.${footer}`,
    }),
  },
  factor_added: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s) => ({
      subject: 'A sign-in method was added to your Gatehouse account',
      text: `${String(p.factor)} was added to your account on ${when(p)}. ${SIGNED_OUT_ELSEWHERE}\n\nIf this was you, there is nothing to do.\n\nThis wasn't me: open this link to lock your account at once and alert support:\n${s.url}${footer}`,
    }),
  },
  /** The authenticator app moved to a new secret (a new phone): the old app's codes stop working. */
  totp_replaced: {
    mints: { link: { purpose: 'freeze', path: '/freeze/' } },
    render: (p, s) => ({
      subject: 'Your authenticator app was replaced on your Gatehouse account',
      text: `Your authenticator app was replaced with a new one on ${when(p)}. Codes from the previous app no longer work; your recovery codes are unchanged. ${SIGNED_OUT_ELSEWHERE}\n\nIf this was you, there is nothing to do.\n\nThis wasn't me: open this link to lock your account at once and alert support:\n${s.url}${footer}`,
    }),
  },
  factor_removed: {
    render: (p) => ({
      subject: 'A sign-in method was removed from your Gatehouse account',
      text: `${String(p.what)} was removed from your account on ${when(p)}. Your other methods still work. ${SIGNED_OUT_ELSEWHERE}\n\nIf this wasn't you, contact your administrator at once.${footer}`,
    }),
  },
  mfa_disabled: {
    render: (p) => ({
      subject: 'Two-factor authentication was turned off',
      text: `Two-factor authentication was turned off for your account on ${when(p)} (${String(p.what)} removed). Your recovery codes no longer work and remembered devices were forgotten. ${SIGNED_OUT_ELSEWHERE}\n\nIf this wasn't you, contact your administrator at once.${footer}`,
    }),
  },
  recovery_code_used: {
    render: (p) => ({
      subject: p.low ? `A recovery code was used — ${p.remaining} left` : 'A recovery code was used',
      text: `A recovery code was used to sign in to your account on ${when(p)}. ${p.remaining} of 10 remain.${p.low ? '\n\nYou are running low: generate a new set on your security page.' : ''}\n\nIf this wasn't you, contact your administrator at once.${footer}`,
    }),
  },
  recovery_codes_regenerated: {
    render: (p) => ({
      subject: 'New recovery codes were generated',
      text: `A new set of recovery codes was generated on ${when(p)}; the earlier codes no longer work. ${SIGNED_OUT_ELSEWHERE}\n\nIf this wasn't you, contact your administrator at once.${footer}`,
    }),
  },
  totp_replay: {
    render: (p) => ({
      subject: 'An authenticator code was used twice',
      text: `On ${when(p)} someone tried to sign in to your account with an authenticator code that had already been used${p.ip ? ` (from ${p.ip})` : ''}. It was refused.\n\nIf this wasn't you, someone may know your password and have seen a code: change your password.${footer}`,
    }),
  },
  mfa_failures: {
    render: (p) => ({
      subject: 'Failed sign-in attempts on your Gatehouse account',
      text: `There were ${p.count} failed second-factor attempts on your account in the last hour (the latest on ${when(p)}${p.ip ? `, from ${p.ip}` : ''}). Your password was accepted each time, so someone may know it.\n\nIf these were not you, change your password now.${footer}`,
    }),
  },
} satisfies Record<string, Template>
