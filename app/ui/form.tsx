import type { InputHTMLAttributes, ReactNode } from 'react'

/** A labelled input with its error under it, wired for screen readers. */
export function Field({ label, name, error, hint, ...input }: { label: string; name: string; error?: string; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const id = input.id ?? name
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...input} />
      {hint ? <div className="hint">{hint}</div> : null}
      {error ? <div className="error" id={`${id}-error`} role="alert">{error}</div> : null}
    </div>
  )
}

/** A six-digit code field: numeric keyboard and one-time-code autofill. */
export function CodeField({ label = 'Code', name = 'code', error, ...rest }: { label?: string; name?: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return <Field label={label} name={name} error={error} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required {...rest} />
}

export function FormError({ message }: { message?: string | null }) {
  return message ? <div className="banner error" role="alert">{message}</div> : null
}

export function Notice({ children }: { children: ReactNode }) {
  return <div className="banner info" role="status">{children}</div>
}
