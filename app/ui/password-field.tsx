import { useState, type InputHTMLAttributes } from 'react'
import { PASSWORD_ADVICE, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_RULES } from '#app/auth/password.schema.ts'
import { useTranslation } from 'react-i18next'
import { translateMessage } from '#app/i18n/i18n.ts'
import { Field } from './form.tsx'

/**
 * A new-password field that shows the rules before the form is sent, ticking each as it is met.
 * The rules come from app/auth/password.schema.ts, the same ones the server parses with.
 */
export function NewPasswordField({ label = 'Password', name = 'password', error, ...input }: { label?: string; name?: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const [value, setValue] = useState('')
  // The rules are written in English (password.schema.ts); a translated page shows them in its language.
  const { t } = useTranslation()
  const hint = (
    <>
      <ul className="password-rules" aria-label={t('ui.password.rules')}>
        {PASSWORD_RULES.map((rule) => {
          const met = value !== '' && rule.met(value)
          return <li key={rule.text} data-met={met ? 'true' : 'false'}>{met ? '✓ ' : ''}{translateMessage(t, rule.text)}</li>
        })}
      </ul>
      {translateMessage(t, PASSWORD_ADVICE)}
    </>
  )
  return (
    <Field label={label} name={name} type="password" autoComplete="new-password" minLength={PASSWORD_MIN_LENGTH} maxLength={PASSWORD_MAX_LENGTH} required
      error={error} hint={hint} onInput={(e) => setValue(e.currentTarget.value)} {...input} />
  )
}
