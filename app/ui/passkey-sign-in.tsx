/**
 * The browser half of a passkey sign-in on /login (decision 069): the "Sign in with a passkey"
 * button, and the email field's autofill (WebAuthn conditional UI on the input whose autocomplete
 * ends in "webauthn"). Both ask the page's action for a one-time challenge of the chosen region
 * (intent "passkey_options"), run the ceremony with @simplewebauthn/browser and post the answer
 * (intent "passkey"); the page then signs in or shows the refusal as for a password.
 * A region served on another address cannot use this page's passkeys: the button says where to go.
 */
import { useFetcher, useSubmit } from '@remix-run/react'
import { browserSupportsWebAuthn, browserSupportsWebAuthnAutofill, startAuthentication } from '@simplewebauthn/browser'
import { useEffect, useRef, useState } from 'react'
import { webauthnErrorMessage } from './webauthn.tsx'
import { useTranslation } from 'react-i18next'
import { translateMessage } from '#app/i18n/i18n.ts'
import { regionName } from './region-name.ts'

type OptionsData = { webauthnOptions?: unknown; challengeId?: string; errors?: Record<string, string> }
type OptionsJSON = Parameters<typeof startAuthentication>[0]['optionsJSON']
export type PasskeyRegion = { code: string; name: string; origin: string }

const isAbort = (e: unknown) => e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ERROR_CEREMONY_ABORTED')

export function PasskeySignIn({ region, redirectTo, attempt }: { region: PasskeyRegion | undefined; redirectTo: string; attempt: unknown }) {
  const button = useFetcher<OptionsData>()
  const autofill = useFetcher<OptionsData>()
  const submit = useSubmit()
  const [error, setError] = useState<string | null>(null)
  const { t, i18n } = useTranslation()
  const [busy, setBusy] = useState(false)
  const [here, setHere] = useState<string | null>(null)
  const handled = useRef<unknown>(null)
  const handledAutofill = useRef<unknown>(null)
  useEffect(() => setHere(window.location.origin), [])
  const elsewhere = Boolean(region && here && region.origin !== here)

  const answer = (challengeId: string, response: unknown) =>
    submit({ intent: 'passkey', challengeId, response: JSON.stringify(response), redirectTo }, { method: 'post' })

  // Conditional UI: offered on the email field for this region, started again after each attempt.
  useEffect(() => {
    if (!region || !here || elsewhere) return
    let cancelled = false
    void browserSupportsWebAuthnAutofill().then((supported) => {
      if (supported && !cancelled) autofill.submit({ intent: 'passkey_options', region: region.code }, { method: 'post' })
    })
    return () => {
      cancelled = true
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [region?.code, here, elsewhere, attempt])

  useEffect(() => {
    const data = autofill.data
    if (!data || handledAutofill.current === data || !data.webauthnOptions || !data.challengeId) return
    handledAutofill.current = data
    startAuthentication({ optionsJSON: data.webauthnOptions as OptionsJSON, useBrowserAutofill: true })
      .then((response) => answer(data.challengeId!, response))
      // Cancelled by the button (which starts its own ceremony) or by leaving the page: nothing to say.
      .catch(() => {})
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [autofill.data])

  useEffect(() => {
    const data = button.data
    if (!data || handled.current === data) return
    handled.current = data
    if (!data.webauthnOptions || !data.challengeId) {
      setBusy(false)
      setError(data.errors ? Object.values(data.errors)[0] : 'The passkey request failed. Try again.')
      return
    }
    startAuthentication({ optionsJSON: data.webauthnOptions as OptionsJSON })
      .then((response) => answer(data.challengeId!, response))
      .catch((e) => {
        if (!isAbort(e)) setError(passkeyErrorMessage(e))
      })
      .finally(() => setBusy(false))
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [button.data])

  return (
    <div className="field">
      <button
        type="button"
        className="secondary"
        disabled={busy}
        onClick={() => {
          setError(null)
          if (!region) return setError('Choose your region')
          if (elsewhere) return setError(t('passkey.elsewhere', { region: regionName(t, i18n.language, region), url: `${region.origin}/login` }))
          if (!browserSupportsWebAuthn()) return setError('Passkeys are not supported by this browser.')
          setBusy(true)
          button.submit({ intent: 'passkey_options', region: region.code }, { method: 'post' })
        }}
      >
        {busy ? t('passkey.waiting') : t('passkey.signIn')}
      </button>
      {error ? <div className="error" role="alert">{translateMessage(t, error)}</div> : null}
    </div>
  )
}

/** Browser errors in plain words; a passkey the authenticator does not hold for this site ends as "cancelled". */
function passkeyErrorMessage(e: unknown): string {
  const name = e instanceof Error ? e.name : ''
  if (name === 'NotAllowedError' || name === 'TimeoutError') return 'No passkey was used: the request was cancelled, or this device holds no passkey for this region. Try again, or sign in with your email and password.'
  return webauthnErrorMessage(e)
}
