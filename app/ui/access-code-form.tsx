/** "Use a temporary access code" at the second step of a sign-in (decision 070). */
import { Form, Link, useNavigation } from '@remix-run/react'
import { Field, FormError } from './form.tsx'
import { useTranslation } from 'react-i18next'

export function AccessCodeForm(props: { path: string; errors: Record<string, string> }) {
  const busy = useNavigation().state !== 'idle'
  const { t } = useTranslation()
  return (
    <>
      <FormError message={props.errors.form} />
      <Form method="post" noValidate aria-label={t('accessCode.formLabel')}>
        <input type="hidden" name="intent" value="temporary_access" />
        <p>{t('accessCode.prompt')}</p>
        <Field label={t('accessCode.label')} name="code" autoComplete="off" autoCapitalize="characters" spellCheck={false} maxLength={40} error={props.errors.code} required autoFocus />
        <button type="submit" disabled={busy}>{t('accessCode.submit')}</button>
      </Form>
      <p><Link to={props.path}>{t('accessCode.back')}</Link></p>
    </>
  )
}

/** The link under the usual second-step forms. */
export function AccessCodeLink({ path }: { path: string }) {
  const { t } = useTranslation()
  return <p><Link to={`${path}?method=temporary_access`}>{t('accessCode.link')}</Link></p>
}
