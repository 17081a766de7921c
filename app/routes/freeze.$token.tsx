import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { formError } from '#app/http/domain-error.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { findFreezeLink, freezeAccount } from '#app/support/freeze.server.ts'
import { FormError } from '#app/ui/form.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'freeze.title') }]
export const handle = { i18n: 'pages' }

// GET changes nothing: mail scanners open links. Only the button's POST freezes.
export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findFreezeLink(params.token ?? '')
  return { valid: Boolean(found), email: found?.user.email ?? null }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  try {
    const { email } = await freezeAccount(params.token ?? '', requestMeta(request, context))
    return { frozen: true as const, email }
  } catch (e) {
    return formError(e)
  }
}

export default function Freeze() {
  const { valid, email } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const { t } = useTranslation()
  if (result && 'frozen' in result) {
    return (
      <section className="card narrow">
        <h1>{t('freeze.frozenTitle')}</h1>
        <p>{t('freeze.frozen', { email: result.email })}</p>
      </section>
    )
  }
  if (!valid) {
    return (
      <section className="card narrow">
        <h1>{t('freeze.invalidTitle')}</h1>
        <p>{t('freeze.invalid')}</p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>{t('freeze.ask')}</h1>
      <FormError message={result && 'errors' in result ? (result.errors as Record<string, string>).form : null} />
      <p>{t('freeze.explain', { email })}</p>
      <Form method="post">
        <button type="submit" className="danger">{t('freeze.submit')}</button>
      </Form>
    </section>
  )
}
