import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'

type State = 'idle' | 'copied' | 'failed'

/**
 * Copies `text`, and says whether it worked. Browsers give no clipboard to pages on plain http
 * (navigator.clipboard is undefined there) and may refuse it: then it says so, and how to copy by hand.
 */
export function CopyButton({ text, label, what = 'text' }: { text: string; label?: string; what?: string }) {
  const { t } = useTranslation()
  // `what` is a catalog word (secret, codes, text) in the page's language; any other is shown as given.
  const thing = t(`ui.copy.what.${what}`, { defaultValue: what })
  const [state, setState] = useState<State>('idle')
  useEffect(() => setState('idle'), [text])
  const copy = async () => {
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard')
      await navigator.clipboard.writeText(text)
      setState('copied')
    } catch {
      setState('failed')
    }
  }
  return (
    <>
      <button type="button" className="secondary" onClick={() => void copy()}>{state === 'copied' ? t('ui.copy.copied') : label ?? t('ui.copy.label')}</button>
      <span role="status" className={state === 'failed' ? 'error' : 'visually-hidden'}>
        {state === 'failed' ? t('ui.copy.failed', { what: thing }) : state === 'copied' ? t('ui.copy.done', { what: `${thing[0].toUpperCase()}${thing.slice(1)}` }) : ''}
      </span>
    </>
  )
}
