/** The second-factor forms shared by /login/verify and the step-up page: one method shown, the others as links. */
import { Form, Link, useNavigation } from '@remix-run/react'
import { CodeField, Field, FormError, Notice } from './form.tsx'
import { WebAuthnButton } from './webauthn.tsx'
import { useTranslation } from 'react-i18next'

export type MethodName = 'totp' | 'webauthn' | 'email' | 'recovery_code'

/** "Use …" links to the other methods: keys secondFactor.switch.<method> in the catalogs. */
const switchLabel = (t: (key: string) => string, method: MethodName) => t(`secondFactor.switch.${method}`)

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
  const { t } = useTranslation()
  const remember = props.allowRemember ? (
    <label className="row" style={{ fontWeight: 400, marginBottom: '1rem' }}>
      <input type="checkbox" name="remember" value="on" /> {t('secondFactor.remember', { days: props.rememberDays })}
    </label>
  ) : null
  return (
    <>
      {props.notice ? <Notice>{props.notice}</Notice> : null}
      <FormError message={errors.form} />
      {method === 'totp' ? (
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="totp" />
          <p>{t('secondFactor.totpPrompt')}</p>
          <CodeField label={t('secondFactor.totpLabel')} name="code" error={errors.code} autoFocus />
          {remember}
          <button type="submit" disabled={busy}>{t('secondFactor.verify')}</button>
        </Form>
      ) : null}
      {method === 'recovery_code' ? (
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="recovery_code" />
          <p>{t('secondFactor.recoveryPrompt')}</p>
          <Field label={t('secondFactor.recoveryLabel')} name="code" autoComplete="off" autoCapitalize="none" spellCheck={false} maxLength={20} error={errors.code} required autoFocus />
          <button type="submit" disabled={busy}>{t('secondFactor.verify')}</button>
        </Form>
      ) : null}
      {method === 'email' ? (
        <>
          {props.emailSent ? (
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="email" />
              <p>{t('secondFactor.emailSent', { email: props.email })}</p>
              <CodeField label={t('secondFactor.emailLabel')} name="code" error={errors.code} autoFocus />
              {remember}
              <button type="submit" disabled={busy}>{t('secondFactor.verify')}</button>
            </Form>
          ) : null}
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="email_send" />
            {!props.emailSent ? <p>{t('secondFactor.emailWillSend', { email: props.email })}</p> : null}
            <button type="submit" className={props.emailSent ? 'secondary' : undefined} disabled={busy}>{props.emailSent ? t('secondFactor.sendNew') : t('secondFactor.send')}</button>
            {props.resendAt ? <ResendAt iso={props.resendAt} /> : null}
          </Form>
        </>
      ) : null}
      {method === 'webauthn' ? (
        <div>
          <p>{t('secondFactor.keyPrompt')}</p>
          {props.allowRemember ? (
            <label className="row" style={{ fontWeight: 400, marginBottom: '1rem' }}>
              <input type="checkbox" id="remember-key" /> {t('secondFactor.remember', { days: props.rememberDays })}
            </label>
          ) : null}
          <RememberAwareKeyButton />
        </div>
      ) : null}
      {methods.length > 1 || props.noRecoveryCodesLeft ? (
        <>
          <h2>{t('secondFactor.otherWays')}</h2>
          <ul>
            {methods.filter((m) => m !== method).map((m) => (
              <li key={m}>
                {m === 'email' ? (
                  // Landing on the email step sends the code (a POST: a link would send nothing, and GETs change nothing).
                  <Form method="post" action={`${path}?method=email`} style={{ display: 'inline' }}>
                    <input type="hidden" name="intent" value="email_step" />
                    <button type="submit" className="link" disabled={busy}>{switchLabel(t, 'email')}</button>
                  </Form>
                ) : (
                  <Link to={`${path}?method=${m}`}>{switchLabel(t, m)}</Link>
                )}
              </li>
            ))}
            {props.noRecoveryCodesLeft ? (
              <li role="status">
                <strong>{t('secondFactor.noCodesLeft')}</strong>{' '}
                {methods.some((m) => m !== 'recovery_code' && m !== method) ? t('secondFactor.noCodesAbove') : methods.length ? t('secondFactor.noCodesShown') : t('secondFactor.noCodesOther')}
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
  const { t } = useTranslation()
  return (
    <p className="muted">
      {t('secondFactor.resendBefore')}<time dateTime={iso}>{iso.slice(11, 19)} UTC</time>{t('secondFactor.resendAfter')}
    </p>
  )
}

function RememberAwareKeyButton() {
  // The checkbox lives outside a form: read it when the ceremony starts.
  const read = (): Record<string, string> => (typeof document !== 'undefined' && (document.getElementById('remember-key') as HTMLInputElement | null)?.checked ? { remember: 'on' } : {})
  return <KeyButton read={read} />
}

function KeyButton({ read }: { read: () => Record<string, string> }) {
  const { t } = useTranslation()
  return <WebAuthnButton mode="authenticate" label={t('secondFactor.useKey')} fieldsFn={read} />
}
