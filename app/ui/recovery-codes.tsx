/** Shows a fresh set of recovery codes once, with Copy, Print, Download .txt and "I've saved my codes". */
import { Link } from '@remix-run/react'
import { useTranslation } from 'react-i18next'
import { CopyButton } from './copy-button.tsx'
import { recoveryCodesText } from './secret-format.ts'
import { Time } from './time.tsx'

export function RecoveryCodesPanel({ codes, account, issuedAt, doneHref = '/settings/security' }: { codes: string[]; account: string; issuedAt: string; doneHref?: string }) {
  const { t, i18n } = useTranslation()
  const text = recoveryCodesText(codes, account, issuedAt, i18n.language === 'en' ? undefined : t)
  return (
    // When printed, only this sheet shows: the codes, the account and the date (styles.css, @media print).
    <div className="card print-sheet" aria-labelledby="codes-title">
      <h2 id="codes-title">{t('ui.recoveryCodes.title')}</h2>
      <p className="print-only">{t('ui.recoveryCodes.printBefore')}<strong>{account}</strong>{t('ui.recoveryCodes.printIssued')}<Time value={issuedAt} style="date" />{t('ui.recoveryCodes.printEnd')}</p>
      <p className="no-print">{t('ui.recoveryCodes.saveNow')}{account}{t('ui.recoveryCodes.saveIssued')}<Time value={issuedAt} />{t('ui.recoveryCodes.saveEnd')}</p>
      <ul className="codes" aria-label={t('ui.recoveryCodes.list')}>
        {codes.map((c) => <li key={c}><code className="secret">{c}</code></li>)}
      </ul>
      <div className="row no-print">
        <CopyButton text={text} what="codes" />
        <button type="button" className="secondary" onClick={() => window.print()}>{t('ui.recoveryCodes.print')}</button>
        <a className="button secondary" download="gatehouse-recovery-codes.txt" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>{t('ui.recoveryCodes.download')}</a>
        <Link className="button" to={doneHref}>{t('ui.recoveryCodes.saved')}</Link>
      </div>
    </div>
  )
}
