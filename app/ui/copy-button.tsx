import { useEffect, useState } from 'react'

type State = 'idle' | 'copied' | 'failed'

/**
 * Copies `text`, and says whether it worked. Browsers give no clipboard to pages on plain http
 * (navigator.clipboard is undefined there) and may refuse it: then it says so, and how to copy by hand.
 */
export function CopyButton({ text, label = 'Copy', what = 'text' }: { text: string; label?: string; what?: string }) {
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
      <button type="button" className="secondary" onClick={() => void copy()}>{state === 'copied' ? 'Copied' : label}</button>
      <span role="status" className={state === 'failed' ? 'error' : 'visually-hidden'}>
        {state === 'failed' ? `Copy failed: this browser did not allow it (it never does on a plain http page). Select the ${what} and copy it yourself.` : state === 'copied' ? `${what[0].toUpperCase()}${what.slice(1)} copied.` : ''}
      </span>
    </>
  )
}
