import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { useActionData, useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { clearSessionCookie } from '#app/auth/session.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta, safeRedirectPath } from '#app/http/request.server.ts'
import { factorFormSchema } from '#app/mfa/factor-form.server.ts'
import { handleStepUpForm, stepUpPageData } from '#app/sign-in/web.server.ts'
import { SecondFactorForms } from '#app/ui/second-factor.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'confirm.title') }]
export const handle = { i18n: 'pages' }

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const url = new URL(request.url)
  return stepUpPageData(user, session, url.searchParams.get('method'), safeRedirectPath(url.searchParams.get('redirectTo'), '/settings/security'))
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, factorFormSchema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const back = safeRedirectPath(new URL(request.url).searchParams.get('redirectTo'), '/settings/security')
  const outcome = await handleStepUpForm(user, session, form.data, requestMeta(request, context))
  if (outcome.kind === 'done') throw redirectTo(back)
  if (outcome.kind === 'ended') throw redirectTo('/login?notice=too-many-codes', { 'Set-Cookie': clearSessionCookie() })
  return data(outcome.body, { status: outcome.status })
}

export default function ConfirmStepUp() {
  const loaded = useLoaderData<typeof loader>()
  const { t } = useTranslation()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; emailSent?: boolean; notice?: string } | undefined
  return (
    <section className="card narrow">
      <h1>{t('confirm.title')}</h1>
      <p className="muted">{t('confirm.hint')}</p>
      <SecondFactorForms
        method={loaded.method}
        methods={loaded.methods}
        path={`/settings/security/confirm`}
        email={loaded.email}
        emailSent={Boolean(result?.emailSent ?? loaded.emailSent)}
        allowRemember={false}
        rememberDays={0}
        errors={result?.errors ?? {}}
        notice={result?.notice}
        resendAt={loaded.resendAt}
      />
      {loaded.ssoHref ? (
        <p>
          <a href={loaded.ssoHref}>{t('confirm.sso')}</a>
        </p>
      ) : null}
    </section>
  )
}
