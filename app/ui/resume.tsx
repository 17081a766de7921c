import { Form, Link } from '@remix-run/react'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { SubmitButton } from './submit-button.tsx'

/**
 * A change brought back from step-up (decisions 056 and 072): what it does, and one button that
 * posts the same values to the same action, where they are validated and checked again.
 */
export function ResumeChange({ resumed, label, busyLabel, cancelTo, children }: { resumed: { intent: string; values: Record<string, string | string[]> }; label: string; busyLabel?: string; cancelTo: string; children: ReactNode }) {
  const { t } = useTranslation()
  return (
    <section className="card narrow" aria-labelledby="resume-title">
      <h2 id="resume-title">{t('ui.resume.title')}</h2>
      <div className="banner warn" role="status">{t('ui.resume.confirmed')}{children}</div>
      <Form method="post">
        <input type="hidden" name="intent" value={resumed.intent} />
        {Object.entries(resumed.values).flatMap(([name, v]) => [v].flat().map((value, i) => <input key={`${name}-${i}`} type="hidden" name={name} value={value} />))}
        <div className="row">
          <SubmitButton busyLabel={busyLabel ?? t('ui.resume.working')} match={{ intent: resumed.intent }}>{label}</SubmitButton>
          <Link to={cancelTo} className="button secondary">{t('ui.cancel')}</Link>
        </div>
      </Form>
    </section>
  )
}
