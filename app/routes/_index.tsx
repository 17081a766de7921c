import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { listUserOrganizations } from '#app/orgs/organizations.server.ts'
import { useTranslation } from 'react-i18next'

export const meta: MetaFunction = () => [{ title: 'Gatehouse' }]
export const handle = { i18n: 'pages' }

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  return {
    user: { name: user.name, email: user.email, region: user.region, mfa: Boolean(user.mfaEnabledAt) },
    level: session.level,
    organizations: await listUserOrganizations(user.id),
  }
}

export default function Home() {
  const { user, organizations } = useLoaderData<typeof loader>()
  const { t } = useTranslation()
  return (
    <>
      <section className="card">
        <h1>{t('home.welcome', { name: user.name })}</h1>
        <p className="muted">{user.email} · {t('home.region', { region: user.region.toUpperCase() })}</p>
        <p>
          {t('home.mfaIs')}<strong>{user.mfa ? t('home.on') : t('home.off')}</strong>{t('home.mfaIsEnd')} <Link to="/settings/security">{t('home.manage')}</Link>
        </p>
      </section>
      <section className="card">
        <h2>{t('home.organizations')}</h2>
        {organizations.length === 0 ? <p className="muted">{t('home.noOrganizations')}</p> : null}
        <ul>
          {organizations.map((o) => (
            <li key={o.id}>
              {o.role === 'member' ? o.name : <Link to={`/orgs/${o.slug}`}>{o.name}</Link>} <span className="badge">{t(`home.role.${o.role}`, { defaultValue: o.role })}</span>
            </li>
          ))}
        </ul>
      </section>
    </>
  )
}
