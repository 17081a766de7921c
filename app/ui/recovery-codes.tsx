/** Shows a fresh set of recovery codes once, with Copy, Download .txt and "I've saved my codes". */
import { Link } from '@remix-run/react'
import { useState } from 'react'

export function RecoveryCodesPanel({ codes, doneHref = '/settings/security' }: { codes: string[]; doneHref?: string }) {
  const [copied, setCopied] = useState(false)
  const text = `Gatehouse recovery codes\nEach code works once. Keep them somewhere safe.\n\n${codes.join('\n')}\n`
  return (
    <div className="card" aria-labelledby="codes-title">
      <h2 id="codes-title">Your recovery codes</h2>
      <p>Save these now: they are shown only once. Each works once if you lose your app or key.</p>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((c) => <li key={c}><code className="secret">{c}</code></li>)}
      </ul>
      <div className="row">
        <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(text).then(() => setCopied(true))}>{copied ? 'Copied' : 'Copy'}</button>
        <a className="button secondary" download="gatehouse-recovery-codes.txt" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>Download .txt</a>
        <Link className="button" to={doneHref}>I've saved my codes</Link>
      </div>
    </div>
  )
}
