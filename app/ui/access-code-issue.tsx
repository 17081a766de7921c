/**
 * Issuing a temporary access code (decision 070), shared by the support console and the
 * organization's member page: the form (reason, ticket, identity checks, validity), the code shown
 * once, and the member's recent codes with "Revoke" for the live one.
 */
import { Form } from '@remix-run/react'
import { Field, FormError } from './form.tsx'
import type { CheckOption } from './reset-mfa-form.tsx'

const date = (d: string | Date | null | undefined) => (d ? new Date(d).toUTCString().replace(' GMT', ' UTC') : '—')

export function IssueAccessCodeForm(props: {
  email: string
  checks: CheckOption[]
  minChecks: number
  ticketRequired: boolean
  hours: { min: number; max: number; default: number }
  errors?: Record<string, string>
  values?: Record<string, unknown>
  busy?: boolean
}) {
  const errors = props.values?.intent === 'access_code' ? props.errors ?? {} : {}
  const values = props.values?.intent === 'access_code' ? props.values : {}
  const ticked = new Set([values.checks ?? []].flat().map(String))
  return (
    <Form method="post" noValidate aria-label="Issue a temporary access code">
      <input type="hidden" name="intent" value="access_code" />
      <FormError message={errors.form} />
      <p>
        For a member who lost one factor (a phone, a key): the code signs <strong>{props.email}</strong> in once, straight to adding a new app or key.
        Nothing else changes: their other factors, recovery codes and remembered devices stay. They are emailed that a code was issued, with a link
        to freeze the account. The code is shown to you once: give it to the member directly, never by email.
      </p>
      <div className="field">
        <label htmlFor="access-reason">Reason</label>
        <textarea id="access-reason" name="reason" rows={3} required defaultValue={String(values.reason ?? '')} aria-invalid={errors.reason ? true : undefined} aria-describedby={errors.reason ? 'access-reason-error' : undefined} />
        {errors.reason ? <div className="error" id="access-reason-error" role="alert">{errors.reason}</div> : null}
      </div>
      <Field id="access-ticket" label={props.ticketRequired ? 'Ticket reference' : 'Ticket reference (optional)'} name="ticket" defaultValue={String(values.ticket ?? '')} required={props.ticketRequired} error={errors.ticket} />
      <fieldset className="field" aria-describedby={errors.checks ? 'access-checks-error' : undefined}>
        <legend>Identity checks done (tick at least {props.minChecks})</legend>
        {props.checks.map((c) => (
          <label key={c.id} style={{ fontWeight: 'normal' }}>
            <input type="checkbox" name="checks" value={c.id} defaultChecked={ticked.has(c.id)} /> {c.label}
          </label>
        ))}
        {errors.checks ? <div className="error" id="access-checks-error" role="alert">{errors.checks}</div> : null}
      </fieldset>
      <HoursField hours={props.hours} error={errors.validHours} value={values.validHours} />
      <button type="submit" disabled={props.busy}>Issue a temporary access code</button>
    </Form>
  )
}

export function HoursField(props: { hours: { min: number; max: number; default: number }; error?: string; value?: unknown; id?: string }) {
  const id = props.id ?? 'valid-hours'
  const options = Array.from({ length: props.hours.max - props.hours.min + 1 }, (_, i) => props.hours.min + i)
  return (
    <div className="field">
      <label htmlFor={id}>Valid for</label>
      <select id={id} name="validHours" defaultValue={String(props.value ?? props.hours.default)} aria-invalid={props.error ? true : undefined}>
        {options.map((h) => <option key={h} value={h}>{h} {h === 1 ? 'hour' : 'hours'}</option>)}
      </select>
      {props.error ? <div className="error" role="alert">{props.error}</div> : null}
    </div>
  )
}

/** The code, once: it is not stored in clear anywhere, so leaving this page loses it. */
export function IssuedAccessCode(props: { code: string; expiresAt: string; email: string }) {
  return (
    <div className="banner info" role="status" aria-label="Temporary access code">
      <p>Temporary access code for {props.email}, valid once until {date(props.expiresAt)}:</p>
      <p><code data-testid="access-code" style={{ fontSize: '1.4rem', letterSpacing: '0.1em' }}>{props.code}</code></p>
      <p>It is shown only now. Read it to the member; they choose “Use a temporary access code” after their password.</p>
    </div>
  )
}

export type AccessCodeRow = { id: string; status: string; by: string; issuedBy: string | null; createdAt: string | Date; expiresAt: string | Date; endedAt: string | Date | null }

export function AccessCodeList(props: { codes: AccessCodeRow[]; canRevoke: boolean; busy?: boolean; error?: string }) {
  if (!props.codes.length) return <p className="muted">No temporary access code was issued.</p>
  return (
    <>
      <FormError message={props.error} />
      <table aria-label="Temporary access codes">
        <thead><tr><th>Issued</th><th>By</th><th>Status</th><th>Valid until</th><th></th></tr></thead>
        <tbody>
          {props.codes.map((c) => (
            <tr key={c.id}>
              <td>{date(c.createdAt)}</td>
              <td>{c.issuedBy ?? c.by}</td>
              <td>{c.status}{c.endedAt && c.status !== 'expired' ? ` ${date(c.endedAt)}` : ''}</td>
              <td>{date(c.expiresAt)}</td>
              <td>
                {c.status === 'live' && props.canRevoke ? (
                  <Form method="post" aria-label="Revoke the temporary access code">
                    <input type="hidden" name="intent" value="revoke_access_code" />
                    <button type="submit" className="secondary" disabled={props.busy}>Revoke</button>
                  </Form>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
