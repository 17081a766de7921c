import { Form, Link } from '@remix-run/react'
import { METHOD_LABELS } from './org-nav.tsx'
import { Time } from './time.tsx'
import { useTranslation } from 'react-i18next'

/**
 * The `/login/grace` page body: names the deadline and the organization, with "Set up now" and
 * "Remind me later". `continueAction` is where "Remind me later" posts (the sign-in flow decides).
 */
export function GracePromptView(props: { deadline: string; organizations: string[]; allowedMethods: string[]; daysLeft: number; setupHref?: string; continueAction: string; redirectTo?: string }) {
  const { t } = useTranslation()
  const orgs = props.organizations.join(t('grace.and'))
  const methods = props.allowedMethods.map((m) => t(`methods.${m}`, { defaultValue: METHOD_LABELS[m] ?? m })).join(t('grace.or')).toLowerCase() || t('grace.aSecondFactor')
  return (
    <section className="card narrow" aria-labelledby="grace-title">
      <h1 id="grace-title">{t('grace.title')}</h1>
      <p>
        {t('grace.requires', { orgs })}{t('grace.until')}<strong><Time value={props.deadline} style="date" /></strong>{t('grace.left', { count: props.daysLeft, methods })}
      </p>
      <p className="hint">{t('grace.after')}</p>
      <div className="row">
        <Link className="button" to={props.setupHref ?? '/settings/security'}>{t('grace.setUp')}</Link>
        <Form method="post" action={props.continueAction}>
          {props.redirectTo ? <input type="hidden" name="redirectTo" value={props.redirectTo} /> : null}
          <button type="submit" className="secondary" name="intent" value="later">{t('grace.later')}</button>
        </Form>
      </div>
    </section>
  )
}
