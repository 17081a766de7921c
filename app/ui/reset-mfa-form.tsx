import { Form } from '@remix-run/react'
import { describedBy, Field, FieldError, FormError } from './form.tsx'
import { SubmitButton } from './submit-button.tsx'

export type CheckOption = { id: string; label: string }

/**
 * The reset form shared by the support console and the organization members area: reason,
 * ticket, the identity checklist (at least two), and an explicit confirmation.
 */
export function ResetMfaForm(props: {
  email: string
  checks: CheckOption[]
  minChecks: number
  ticketRequired: boolean
  errors?: Record<string, string>
  values?: Record<string, unknown>
  submitLabel?: string
}) {
  const errors = props.errors ?? {}
  const values = props.values ?? {}
  const ticked = new Set([values.checks ?? []].flat().map(String))
  return (
    <Form method="post" noValidate aria-label="Reset two-factor authentication">
      <input type="hidden" name="intent" value="reset" />
      <FormError message={errors.form} />
      <p>
        This removes every authenticator app, security key, passkey, recovery code and remembered device of <strong>{props.email}</strong>, signs them out
        everywhere, and emails them what happened with a link to freeze the account. At the next sign-in they confirm a code sent to their email and
        set up a factor again.
      </p>
      <div className="field">
        <label htmlFor="reason">Reason</label>
        <textarea id="reason" name="reason" rows={3} required defaultValue={String(values.reason ?? '')} {...describedBy('reason', errors.reason)} />
        <FieldError id="reason" error={errors.reason} />
      </div>
      <Field
        label={props.ticketRequired ? 'Ticket reference' : 'Ticket reference (optional)'}
        name="ticket"
        defaultValue={String(values.ticket ?? '')}
        required={props.ticketRequired}
        error={errors.ticket}
      />
      <fieldset className="field" {...describedBy('checks', errors.checks)}>
        <legend>Identity checks done (tick at least {props.minChecks})</legend>
        {props.checks.map((c) => (
          <label key={c.id} style={{ fontWeight: 'normal' }}>
            <input type="checkbox" name="checks" value={c.id} defaultChecked={ticked.has(c.id)} /> {c.label}
          </label>
        ))}
        <FieldError id="checks" error={errors.checks} />
      </fieldset>
      <div className="field">
        <label style={{ fontWeight: 'normal' }}>
          <input type="checkbox" name="confirm" value="yes" required {...describedBy('confirm', errors.confirm)} /> Yes, remove every factor of {props.email}
        </label>
        <FieldError id="confirm" error={errors.confirm} />
      </div>
      <SubmitButton className="danger" busyLabel="Resetting…" match={{ intent: 'reset' }}>{props.submitLabel ?? 'Reset two-factor authentication'}</SubmitButton>
    </Form>
  )
}
