/** Shows a fresh set of recovery codes once, with Copy, Print, Download .txt and "I've saved my codes". */
import { Link } from '@remix-run/react'
import { CopyButton } from './copy-button.tsx'
import { recoveryCodesText } from './secret-format.ts'
import { Time } from './time.tsx'

export function RecoveryCodesPanel({ codes, account, issuedAt, doneHref = '/settings/security' }: { codes: string[]; account: string; issuedAt: string; doneHref?: string }) {
  const text = recoveryCodesText(codes, account, issuedAt)
  return (
    // When printed, only this sheet shows: the codes, the account and the date (styles.css, @media print).
    <div className="card print-sheet" aria-labelledby="codes-title">
      <h2 id="codes-title">Your recovery codes</h2>
      <p className="print-only">Gatehouse recovery codes for <strong>{account}</strong>, issued <Time value={issuedAt} style="date" />. Each code works once.</p>
      <p className="no-print">Save these now: they are shown only once. Each works once if you lose your app or key. For {account}, issued <Time value={issuedAt} />.</p>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((c) => <li key={c}><code className="secret">{c}</code></li>)}
      </ul>
      <div className="row no-print">
        <CopyButton text={text} what="codes" />
        <button type="button" className="secondary" onClick={() => window.print()}>Print</button>
        <a className="button secondary" download="gatehouse-recovery-codes.txt" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>Download .txt</a>
        <Link className="button" to={doneHref}>I've saved my codes</Link>
      </div>
    </div>
  )
}
