import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { ACCESS_CODE_METHOD } from '#app/auth/session.server.ts'
import { listFactors } from '#app/mfa/factors.server.ts'
import { ENROLLMENT_CLOSED_MESSAGE } from '#app/mfa/enrollment.server.ts'
import { loadEffectivePolicy } from '#app/policy/member-status.server.ts'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'grace.title') }]
export const handle = { i18n: 'pages' }

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const [factors, policy] = await Promise.all([listFactors(user.id), loadEffectivePolicy(user.id)])
  // Offer only what the member's organizations allow (all of it when no policy restricts).
  const allowed = policy.allowedMethods
  // Disabled: no enrollment is offered (staff are never under disabled).
  const closed = policy.mode === 'disabled' && policy.status !== 'exempt' ? ENROLLMENT_CLOSED_MESSAGE : null
  return {
    closed,
    enrollOnly: session.level === 'enroll_only',
    // Signed in with a temporary access code (decision 070): here to add a new app or key.
    accessCode: session.level === 'enroll_only' && session.secondFactorMethod === ACCESS_CODE_METHOD,
    staff: user.platformRole !== 'none',
    hasTotp: Boolean(factors.totp),
    keys: factors.keys.length,
    offerTotp: !closed && allowed.includes('totp'),
    offerKeys: !closed && allowed.includes('webauthn'),
    organizations: policy.pendingOrganizations,
  }
}

export default function Enroll() {
  const d = useLoaderData<typeof loader>()
  const { t } = useTranslation()
  return (
    <section className="card narrow">
      <h1>{t('grace.title')}</h1>
      {d.accessCode ? (
        <p className="banner info" role="status">{t('enroll.accessCode')}</p>
      ) : d.enrollOnly ? (
        <p>{d.staff ? t('verify.proveStaff') : t('enroll.requires', { orgs: d.organizations.join(t('grace.and')) || t('enroll.yourOrganization') })} {t('enroll.onlyPage')}</p>
      ) : d.closed ? <p className="banner" role="status">{translateMessage(t, d.closed)}</p> : <p>{t('enroll.choose')}</p>}
      <ul>
        {d.offerTotp ? <li><Link to="/settings/security/totp">{t('methods.totp')}</Link> {d.hasTotp ? <span className="badge ok">{t('enroll.setUp')}</span> : null}{t('enroll.totpHint')}</li> : null}
        {d.offerKeys ? <li><Link to="/settings/security/keys">{t('enroll.keys')}</Link> {d.keys ? <span className="badge ok">{t('enroll.keysAdded', { count: d.keys })}</span> : null}{t('enroll.keysHint')}</li> : null}
      </ul>
      <Form method="post" action="/logout"><button type="submit" className="link">{t('shell.signOut')}</button></Form>
    </section>
  )
}
