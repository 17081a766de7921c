import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from 'react'
import { useTranslation } from 'react-i18next'
import { translateMessage } from '#app/i18n/i18n.ts'

/**
 * The attributes that tie a control to its hint and its error, so a screen reader reads them with the
 * control. Every form control with an error goes through this (Field, SelectField, or spread on a
 * control a page lays out itself, with <FieldError> under it).
 */
export function describedBy(id: string, error?: string | null, hint?: boolean) {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ')
  return { 'aria-invalid': error ? true : undefined, 'aria-describedby': ids || undefined } as const
}

/** The error under a control, with the id that `describedBy(id, error)` points at. */
export function FieldError({ id, error }: { id: string; error?: string | null }) {
  // Server messages are written in English; a translated page shows them in its language (decision 079).
  const { t } = useTranslation()
  return error ? <div className="error" id={`${id}-error`} role="alert">{translateMessage(t, error)}</div> : null
}

/** A labelled input with its hint and error under it, wired for screen readers. */
export function Field({ label, name, error, hint, ...input }: { label: string; name: string; error?: string; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const id = input.id ?? name
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} {...describedBy(id, error, Boolean(hint))} {...input} />
      {hint ? <div className="hint" id={`${id}-hint`}>{hint}</div> : null}
      <FieldError id={id} error={error} />
    </div>
  )
}

/** A labelled select with its error, wired like Field. */
export function SelectField({ label, name, error, hint, children, ...select }: { label: string; name: string; error?: string; hint?: ReactNode; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = select.id ?? name
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} {...describedBy(id, error, Boolean(hint))} {...select}>{children}</select>
      {hint ? <div className="hint" id={`${id}-hint`}>{hint}</div> : null}
      <FieldError id={id} error={error} />
    </div>
  )
}

/** A six-digit code field: numeric keyboard and one-time-code autofill. */
export function CodeField({ label = 'Code', name = 'code', error, ...rest }: { label?: string; name?: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return <Field label={label} name={name} error={error} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required {...rest} />
}

export function FormError({ message }: { message?: string | null }) {
  const { t } = useTranslation()
  return message ? <div className="banner error" role="alert">{translateMessage(t, message)}</div> : null
}

export function Notice({ children }: { children: ReactNode }) {
  return <div className="banner info" role="status">{children}</div>
}
