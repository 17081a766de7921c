import { fromCatalog, type Params, type Template } from '../templates.server.ts'
import type { MailT } from '../language.server.ts'
import { formatUtc } from '#app/ui/time-format.ts'

/** A date as the language writes it: "1 Feb 2026" in English, 2026-02-01 in Japanese and Korean. */
const date = (v: unknown, t: MailT) => (t('dateStyle') === 'iso' ? new Date(String(v)).toISOString().slice(0, 10) : formatUtc(new Date(String(v)), 'date'))
const region = (p: Params) => String(p.region ?? '').toUpperCase()
const methods = (p: Params, t: MailT) =>
  (Array.isArray(p.methods) ? (p.methods as string[]) : []).map((m) => (['email', 'totp', 'webauthn'].includes(m) ? (t(`methods.${m}`) as string) : m)).join(t('methods.separator') as string)
const consequence = (p: Params, t: MailT) => t(p.onDeadline === 'block' ? 'policy.block' : 'policy.force') as string

/** Templates of the policy area (see templates.server.ts for the shape and what `mints` means); words in the mail catalogs. */
export const policyTemplates = {
  grace_reminder: {
    render: (p, _s, t) =>
      fromCatalog(t, 'grace_reminder', { organization: p.organization, region: region(p), date: date(p.deadline, t), left: t('grace_reminder.left', { count: Number(p.offsetDays) }), methods: methods(p, t), consequence: consequence(p, t) }),
  },
  policy_required: {
    render: (p, _s, t) =>
      fromCatalog(t, 'policy_required', { organization: p.organization, region: region(p), date: p.deadline ? date(p.deadline, t) : '', methods: methods(p, t), consequence: consequence(p, t) }, p.deadline ? 'policy_required.deadline' : 'policy_required.enrolled'),
  },
  policy_disabled: {
    render: (p, _s, t) => fromCatalog(t, 'policy_disabled', { organization: p.organization, region: region(p) }),
  },
  deadline_extended: {
    render: (p, _s, t) => fromCatalog(t, 'deadline_extended', { organization: p.organization, date: date(p.deadline, t) }),
  },
  invite: {
    mints: { link: { purpose: 'invite', path: '/invite/' } },
    render: (p, s, t) => fromCatalog(t, 'invite', { inviter: p.inviter, organization: p.organization, url: s.url }),
  },
  // To an address that already has an account: no token, nothing joins until the holder accepts signed in (decision 055).
  invitation: {
    render: (p, _s, t) =>
      fromCatalog(t, 'invitation', {
        inviter: p.inviter,
        region: region(p),
        organization: p.organization,
        role: ['member', 'admin', 'owner'].includes(String(p.role)) ? t(`invitation.${String(p.role)}`) : `an ${String(p.role)}`,
        signInUrl: p.signInUrl,
      }),
  },
} satisfies Record<string, Template>
