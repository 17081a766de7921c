import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { formError } from '#app/http/domain-error.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { findFreezeLink, freezeAccount, freezeLinkRegion } from '#app/support/freeze.server.ts'
import { chosenLanguage } from '#app/i18n/language.server.ts'
import { languageOfRegion } from '#app/i18n/languages.ts'
import { FormError } from '#app/ui/form.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, routeLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(routeLanguage(matches), 'freeze.title') }]
export const handle = { i18n: 'pages' }

// GET changes nothing: mail scanners open links. Only the button's POST freezes.
// The link identifies its account, so the page speaks the owner's language as their mail does
// (their region), unless the reader chose one with the switch (decision 079). After the POST the
// link is used, and its owner is still read for the language alone.
export async function loader({ request, params }: LoaderFunctionArgs) {
  const token = params.token ?? ''
  const found = await findFreezeLink(token)
  const language = chosenLanguage(request) ?? languageOfRegion(found ? found.user.region : await freezeLinkRegion(token))
  return { valid: Boolean(found), email: found?.user.email ?? null, language }
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
