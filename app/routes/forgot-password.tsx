import type { ActionFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { RESET_REQUESTED_MESSAGE, requestPasswordReset } from '#app/auth/password-reset.server.ts'
import { config } from '#app/config/env.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { Field, FormError, Notice } from '#app/ui/form.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'
import { regionName } from '#app/ui/region-name.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'forgot.title') }]
export const handle = { i18n: 'pages' }

const schema = z.object({
  region: z.string().refine((r) => config.regions.some((x) => x.code === r), 'Choose your region'),
  email: z.string().trim().min(1, 'Enter your email').max(254, 'That email is too long').email('Enter a valid email address'),
})

export async function loader() {
  return { regions: config.regions.map((r) => ({ code: r.code, name: r.name })) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  try {
    await requestPasswordReset({ ...form.data, meta: requestMeta(request, context) })
  } catch (e) {
    return formError(e, { fields: ['email'], values: { email: form.data.email, region: form.data.region } })
  }
  return { sent: true as const, message: RESET_REQUESTED_MESSAGE, errors: {} as Record<string, string> }
}

export default function ForgotPassword() {
  const { regions } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const busy = useNavigation().state !== 'idle'
  const { t, i18n } = useTranslation()
  const errors = (result?.errors ?? {}) as Record<string, string>
  if (result && 'sent' in result) {
    return (
      <section className="card narrow">
        <h1>{t('forgot.checkEmail')}</h1>
        <Notice>{translateMessage(t, result.message)}</Notice>
        <Link to="/login">{t('forgot.back')}</Link>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>{t('forgot.heading')}</h1>
      <p className="muted">{t('forgot.hint')}</p>
      <FormError message={errors.form} />
      <Form method="post" noValidate>
        <div className="field">
          <label htmlFor="region">{t('login.region')}</label>
          <select id="region" name="region">
            {regions.map((r) => <option key={r.code} value={r.code}>{regionName(t, i18n.language, r)} ({r.code.toUpperCase()})</option>)}
          </select>
        </div>
        <Field label={t('login.email')} name="email" type="email" autoComplete="username" error={errors.email} required />
        <button type="submit" disabled={busy}>{busy ? t('forgot.sending') : t('forgot.send')}</button>
      </Form>
    </section>
  )
}
