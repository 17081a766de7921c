/**
 * The browser half of WebAuthn: asks the route for options (intent "webauthn_options"), runs the
 * ceremony with @simplewebauthn/browser, and posts the response (intent "webauthn") with any extra
 * fields. Browser errors are put in plain words.
 */
import { useFetcher, useSubmit } from '@remix-run/react'
import { startAuthentication, startRegistration, browserSupportsWebAuthn } from '@simplewebauthn/browser'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { translateMessage } from '#app/i18n/i18n.ts'

export function webauthnErrorMessage(e: unknown): string {
  const name = e instanceof Error ? e.name : ''
  const code = (e as { code?: string })?.code ?? ''
  if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError') return 'This security key is already registered'
  if (name === 'NotSupportedError') return 'Security keys are not supported by this browser.'
  if (name === 'NotAllowedError' || name === 'AbortError' || name === 'TimeoutError') return 'The operation was cancelled — try again and touch your key'
  if (name === 'SecurityError') return 'This page cannot use security keys (the address does not match). Contact support.'
  return 'The security key did not respond. Try again and touch your key.'
}

export function WebAuthnButton({
  mode,
  label,
  fields = {},
  fieldsFn,
  disabled,
  validate,
  onProblem,
  submitsForm,
}: {
  mode: 'register' | 'authenticate'
  label: string
  fields?: Record<string, string>
  /** Fields read when the button is pressed (e.g. a checkbox outside a form). */
  fieldsFn?: () => Record<string, string>
  disabled?: boolean
  validate?: () => string | null
  /** Where a `validate` problem goes (e.g. the error of the field it is about) instead of under the button. */
  onProblem?: (message: string | null) => void
  /** The button is its form's submit button, so that Enter in a field of the form starts the ceremony. */
  submitsForm?: boolean
}) {
  const options = useFetcher<{ webauthnOptions?: unknown; challengeId?: string; errors?: Record<string, string> }>()
  const submit = useSubmit()
  const [error, setError] = useState<string | null>(null)
  const { t } = useTranslation()
  const [busy, setBusy] = useState(false)
  const handled = useRef<unknown>(null)
  const fieldsRef = useRef(fields)
  if (!busy) fieldsRef.current = fields

  useEffect(() => {
    const data = options.data
    if (!data || handled.current === data) return
    handled.current = data
    if (!data.webauthnOptions || !data.challengeId) {
      setBusy(false)
      setError(data.errors ? Object.values(data.errors)[0] : 'The security key request failed. Try again.')
      return
    }
    const run = async () => {
      try {
        const response =
          mode === 'register'
            ? await startRegistration({ optionsJSON: data.webauthnOptions as Parameters<typeof startRegistration>[0]['optionsJSON'] })
            : await startAuthentication({ optionsJSON: data.webauthnOptions as Parameters<typeof startAuthentication>[0]['optionsJSON'] })
        submit({ ...fieldsRef.current, intent: 'webauthn', challengeId: data.challengeId!, response: JSON.stringify(response) }, { method: 'post' })
      } catch (e) {
        setError(webauthnErrorMessage(e))
      } finally {
        setBusy(false)
      }
    }
    void run()
  }, [options.data, mode, submit])

  return (
    <div className="field">
      <button
        type={submitsForm ? 'submit' : 'button'}
        disabled={disabled || busy}
        onClick={(e) => {
          // Enter in the form "clicks" its submit button: the ceremony replaces the plain submission.
          if (submitsForm) e.preventDefault()
          setError(null)
          const problem = validate?.() ?? null
          onProblem?.(problem)
          if (problem) return onProblem ? undefined : setError(problem)
          if (!browserSupportsWebAuthn()) return setError('Security keys are not supported by this browser.')
          fieldsRef.current = { ...fields, ...fieldsFn?.() }
          setBusy(true)
          options.submit({ ...fieldsRef.current, intent: 'webauthn_options' }, { method: 'post' })
        }}
      >
        {busy ? t('webauthn.waiting') : label}
      </button>
      {error ? <div className="error" role="alert">{translateMessage(t, error)}</div> : null}
    </div>
  )
}
