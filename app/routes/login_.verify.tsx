import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { useActionData, useLoaderData } from '@remix-run/react'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { factorFormSchema, signInFactorFormSchema } from '#app/mfa/factor-form.server.ts'
import { clearPendingCookie, emailCodeResendAt, handleVerifyForm, hasPendingCookie, hasSentEmailCode, loadPendingSignIn, noRecoveryCodesLeft } from '#app/sign-in/web.server.ts'
import { SecondFactorForms, type MethodName } from '#app/ui/second-factor.tsx'
import { AccessCodeForm, AccessCodeLink } from '#app/ui/access-code-form.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'verify.title') }]
export const handle = { i18n: 'pages' }

export async function loader({ request }: LoaderFunctionArgs) {
  const pending = await loadPendingSignIn(request)
  // Rendered rather than redirected: after a POST that ended the sign-in, this loader runs too.
  if (!pending) return { expired: true as const }
  const asked = new URL(request.url).searchParams.get('method') as MethodName | 'temporary_access' | null
  const methods = pending.step.methods
  const method = asked && asked !== 'temporary_access' && methods.includes(asked) ? asked : pending.step.preferred
  return {
    expired: false as const,
    accessCode: asked === 'temporary_access',
    method,
    methods,
    email: pending.user.email,
    emailSent: method === 'email' ? await hasSentEmailCode(pending) : false,
    resendAt: method === 'email' ? ((await emailCodeResendAt(pending))?.toISOString() ?? null) : null,
    noRecoveryCodesLeft: await noRecoveryCodesLeft(pending),
    allowRemember: pending.user.platformRole === 'none' && pending.step.reason === 'factor' && pending.step.rememberDays > 0,
    rememberDays: pending.step.rememberDays,
    reset: pending.step.reason === 'reset',
    proveEmail: pending.step.reason === 'prove_email' ? (pending.user.platformRole === 'none' ? 'organization' as const : 'staff' as const) : null,
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const pending = await loadPendingSignIn(request)
  if (!pending) return data({ errors: { form: 'Your sign-in has expired or could not be found. Sign in again.' }, ended: true }, { status: 401, headers: hasPendingCookie(request) ? { 'Set-Cookie': clearPendingCookie() } : {} })
  const form = await parseForm(request, signInFactorFormSchema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const outcome = await handleVerifyForm(pending, form.data, requestMeta(request, context))
  if (outcome.kind === 'redirect') throw redirectTo(outcome.location, outcome.headers)
  return data(outcome.body, { status: outcome.status, headers: outcome.headers })
}

export default function Verify() {
  const loaded = useLoaderData<typeof loader>()
  const { t } = useTranslation()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; emailSent?: boolean; notice?: string; ended?: boolean } | undefined
  return (
    <section className="card narrow">
      <h1>{t('verify.title')}</h1>
      {loaded.expired && !result?.ended ? (
        <p>{t('verify.expired')} <a href="/login">{t('verify.signInAgain')}</a>{t('verify.signInAgainEnd')}</p>
      ) : null}
      {!loaded.expired && loaded.reset ? <p className="muted">{t('verify.reset')}</p> : null}
      {!loaded.expired && loaded.proveEmail ? (
        <p className="muted">
          {loaded.proveEmail === 'staff' ? t('verify.proveStaff') : t('verify.proveOrganization')}{' '}
          {t('verify.proveEmail')}
        </p>
      ) : null}
      {result?.ended ? (
        <>
          <div className="banner error" role="alert">{result.errors?.form}</div>
          <a href="/login">{t('verify.signInAgain')}</a>
        </>
      ) : loaded.expired ? null : loaded.accessCode ? (
        <AccessCodeForm path="/login/verify" errors={result?.errors ?? {}} />
      ) : (
        <>
        <SecondFactorForms
          method={loaded.method}
          methods={loaded.methods}
          path="/login/verify"
          email={loaded.email}
          emailSent={Boolean(result?.emailSent ?? loaded.emailSent)}
          allowRemember={loaded.allowRemember}
          rememberDays={loaded.rememberDays}
          errors={result?.errors ?? {}}
          notice={result?.notice}
          resendAt={loaded.resendAt}
          noRecoveryCodesLeft={loaded.noRecoveryCodesLeft}
        />
        <AccessCodeLink path="/login/verify" />
        </>
      )}
    </section>
  )
}
