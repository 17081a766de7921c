/** The second-factor forms shared by /login/verify and the step-up page: one method shown, the others as links. */
import { Form, Link, useNavigation } from '@remix-run/react'
import { CodeField, Field, FormError, Notice } from './form.tsx'
import { WebAuthnButton } from './webauthn.tsx'

export type MethodName = 'totp' | 'webauthn' | 'email' | 'recovery_code'

const SWITCH_LABELS: Record<MethodName, string> = {
  webauthn: 'Use a security key',
  totp: 'Use authenticator app',
  email: 'Use email verification instead',
  recovery_code: 'Use a recovery code',
}

export function SecondFactorForms(props: {
  method: MethodName
  methods: MethodName[]
  path: string
  email: string
  emailSent: boolean
  allowRemember: boolean
  /** How long a remembered device counts, from the organization policy. */
  rememberDays: number
  errors: Record<string, string>
  notice?: string | null
  /** When a new email code may be asked for (ISO, computed on the server), or null when it may now. */
  resendAt?: string | null
  /** Set when the member has no recovery code left: said with the other ways (reference page 000). */
  noRecoveryCodesLeft?: boolean
}) {
  const { method, methods, path, errors } = props
  const busy = useNavigation().state !== 'idle'
  const remember = props.allowRemember ? (
    <label className="row" style={{ fontWeight: 400, marginBottom: '1rem' }}>
      <input type="checkbox" name="remember" value="on" /> Remember this device for {props.rememberDays} days
    </label>
  ) : null
  return (
    <>
      {props.notice ? <Notice>{props.notice}</Notice> : null}
      <FormError message={errors.form} />
      {method === 'totp' ? (
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="totp" />
          <p>Enter the 6-digit code from your authenticator app.</p>
          <CodeField label="Authentication code" name="code" error={errors.code} autoFocus />
          {remember}
          <button type="submit" disabled={busy}>Verify</button>
        </Form>
      ) : null}
      {method === 'recovery_code' ? (
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="recovery_code" />
          <p>Enter one of the recovery codes you saved. Each works once.</p>
          <Field label="Recovery code" name="code" autoComplete="off" autoCapitalize="none" spellCheck={false} maxLength={20} error={errors.code} required autoFocus />
          <button type="submit" disabled={busy}>Verify</button>
        </Form>
      ) : null}
      {method === 'email' ? (
        <>
          {props.emailSent ? (
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="email" />
              <p>We sent a 6-digit code to {props.email}. It works for 10 minutes.</p>
              <CodeField label="Email code" name="code" error={errors.code} autoFocus />
              {remember}
              <button type="submit" disabled={busy}>Verify</button>
            </Form>
          ) : null}
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="email_send" />
            {!props.emailSent ? <p>We will email a 6-digit code to {props.email}.</p> : null}
            <button type="submit" className={props.emailSent ? 'secondary' : undefined} disabled={busy}>{props.emailSent ? 'Send a new code' : 'Send the code'}</button>
            {props.resendAt ? <ResendAt iso={props.resendAt} /> : null}
          </Form>
        </>
      ) : null}
      {method === 'webauthn' ? (
        <div>
          <p>Insert or touch your security key, or use your device's passkey.</p>
          {props.allowRemember ? (
            <label className="row" style={{ fontWeight: 400, marginBottom: '1rem' }}>
              <input type="checkbox" id="remember-key" /> Remember this device for {props.rememberDays} days
            </label>
          ) : null}
          <RememberAwareKeyButton />
        </div>
      ) : null}
      {methods.length > 1 || props.noRecoveryCodesLeft ? (
        <>
          <h2>Other ways to verify</h2>
          <ul>
            {methods.filter((m) => m !== method).map((m) => (
              <li key={m}>
                {m === 'email' ? (
                  // Landing on the email step sends the code (a POST: a link would send nothing, and GETs change nothing).
                  <Form method="post" action={`${path}?method=email`} style={{ display: 'inline' }}>
                    <input type="hidden" name="intent" value="email_step" />
                    <button type="submit" className="link" disabled={busy}>{SWITCH_LABELS.email}</button>
                  </Form>
                ) : (
                  <Link to={`${path}?method=${m}`}>{SWITCH_LABELS[m]}</Link>
                )}
              </li>
            ))}
            {props.noRecoveryCodesLeft ? (
              <li role="status">
                <strong>No recovery codes left.</strong>{' '}
                {methods.some((m) => m !== 'recovery_code' && m !== method) ? 'Use one of the ways above' : methods.length ? 'Use the way shown above' : 'Use another way'}, or contact support if you cannot.
              </li>
            ) : null}
          </ul>
        </>
      ) : null}
    </>
  )
}

/** The server's time for the next resend, in words that need no script (UTC, as the server computed it). */
function ResendAt({ iso }: { iso: string }) {
  return (
    <p className="muted">
      You can ask for a new code after <time dateTime={iso}>{iso.slice(11, 19)} UTC</time>.
    </p>
  )
}

function RememberAwareKeyButton() {
  // The checkbox lives outside a form: read it when the ceremony starts.
  const read = (): Record<string, string> => (typeof document !== 'undefined' && (document.getElementById('remember-key') as HTMLInputElement | null)?.checked ? { remember: 'on' } : {})
  return <KeyButton read={read} />
}

function KeyButton({ read }: { read: () => Record<string, string> }) {
  return <WebAuthnButton mode="authenticate" label="Use security key" fieldsFn={read} />
}
