/**
 * "Test this key": asks the keys page for a challenge that only this key can answer (intent
 * "test_key_options"), runs the ceremony in the browser and posts the answer (intent "test_key"),
 * then says whether it worked. Both requests go through fetchers: the page itself does not change.
 */
import { useFetcher } from '@remix-run/react'
import { browserSupportsWebAuthn, startAuthentication } from '@simplewebauthn/browser'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { translateMessage } from '#app/i18n/i18n.ts'
import { webauthnErrorMessage } from './webauthn.tsx'

type Options = { webauthnOptions?: unknown; challengeId?: string; errors?: Record<string, string> }
type Result = { keyTest?: { ok: boolean; message: string }; errors?: Record<string, string> }

export function KeyTestButton({ keyId, label }: { keyId: string; label: string }) {
  const options = useFetcher<Options>()
  const result = useFetcher<Result>()
  const [said, setSaid] = useState<{ ok: boolean; message: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const handled = useRef<unknown>(null)
  const { t } = useTranslation()

  useEffect(() => {
    const data = options.data
    if (!data || handled.current === data) return
    handled.current = data
    if (!data.webauthnOptions || !data.challengeId) {
      setBusy(false)
      setSaid({ ok: false, message: data.errors ? Object.values(data.errors)[0] : 'The test could not start. Try again.' })
      return
    }
    void (async () => {
      try {
        const response = await startAuthentication({ optionsJSON: data.webauthnOptions as Parameters<typeof startAuthentication>[0]['optionsJSON'] })
        result.submit({ intent: 'test_key', keyId, challengeId: data.challengeId!, response: JSON.stringify(response) }, { method: 'post' })
      } catch (e) {
        setBusy(false)
        setSaid({ ok: false, message: webauthnErrorMessage(e) })
      }
    })()
  }, [options.data, keyId, result])

  useEffect(() => {
    if (!result.data) return
    setBusy(false)
    setSaid(result.data.keyTest ?? { ok: false, message: result.data.errors ? Object.values(result.data.errors)[0] : 'The test failed. Try again.' })
  }, [result.data])

  return (
    <span>
      <button
        type="button"
        className="secondary"
        aria-label={t('ui.keyTest.label', { label })}
        disabled={busy}
        onClick={() => {
          setSaid(null)
          if (!browserSupportsWebAuthn()) return setSaid({ ok: false, message: 'Security keys are not supported by this browser.' })
          setBusy(true)
          options.submit({ intent: 'test_key_options', keyId }, { method: 'post' })
        }}
      >
        {busy ? t('webauthn.waiting') : t('ui.keyTest.test')}
      </button>
      {said ? <span role={said.ok ? 'status' : 'alert'} className={said.ok ? 'badge ok' : 'error'}> {translateMessage(t, said.message)}</span> : null}
    </span>
  )
}
