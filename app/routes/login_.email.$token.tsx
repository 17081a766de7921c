import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { completeEmailLink, findEmailLink, loadPendingSignIn } from '#app/sign-in/web.server.ts'
import { FormError } from '#app/ui/form.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'emailLink.title') }]
export const handle = { i18n: 'pages' }

// GET changes nothing (mail scanners open links); only the POST from the browser holding the pending sign-in completes it.
export async function loader({ params }: LoaderFunctionArgs) {
  return { valid: Boolean(await findEmailLink(params.token ?? '')) }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const outcome = await completeEmailLink(await loadPendingSignIn(request), params.token ?? '', requestMeta(request, context))
  if (outcome.kind === 'redirect') throw redirectTo(outcome.location, outcome.headers)
  return data(outcome.body, { status: outcome.status })
}

export default function EmailLink() {
  const { valid } = useLoaderData<typeof loader>()
  const { t } = useTranslation()
  const result = useActionData<typeof action>() as { errors?: Record<string, string> } | undefined
  return (
    <section className="card narrow">
      <h1>{t('emailLink.title')}</h1>
      <FormError message={result?.errors?.form} />
      {valid ? (
        <Form method="post">
          <p>{t('emailLink.prompt')}</p>
          <button type="submit">{t('emailLink.submit')}</button>
        </Form>
      ) : (
        <p>{t('emailLink.expired')} <a href="/login">{t('verify.signInAgain')}</a>{t('verify.signInAgainEnd')}</p>
      )}
    </section>
  )
}
