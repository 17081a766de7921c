import { Form, Link, useNavigate } from '@remix-run/react'
import { useEffect, useId, useRef, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { SubmitButton } from './submit-button.tsx'

/** The element id every confirmation has, so a "Remove…" link can end in `#confirm` and land on it without JavaScript. */
export const CONFIRM_ID = 'confirm'

/**
 * The one confirmation before anything is destroyed (decision 072). It is a step, not a script:
 * the "Remove…" link is a GET that adds the thing to confirm to the page's address (`?remove=…`),
 * the loader finds it and says what will happen, and this panel posts the real change or cancels
 * back to the plain page, so it works without JavaScript and a GET never changes anything.
 * With JavaScript it takes the focus (so a keyboard or screen-reader user lands on it) and Escape
 * cancels. The confirm button shows a busy state while the change is sent.
 */
export function ConfirmAction({
  title,
  children,
  fields,
  confirmLabel,
  busyLabel,
  cancelTo,
  action,
}: {
  title: ReactNode
  /** What will happen, in words: "Ana will need to sign in again on 3 devices." */
  children: ReactNode
  /** The hidden fields the confirmed change posts (its intent and ids). */
  fields: Record<string, string>
  confirmLabel: string
  busyLabel: string
  /** Where Cancel goes: the page without the confirmation in its address. */
  cancelTo: string
  /** The action to post to, when not the current route's. */
  action?: string
}) {
  const id = useId()
  const ref = useRef<HTMLElement>(null)
  const navigate = useNavigate()
  const { t } = useTranslation()
  useEffect(() => {
    ref.current?.focus()
  }, [])
  return (
    <section
      ref={ref}
      id={CONFIRM_ID}
      className="banner error confirm"
      role="alertdialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-what`}
      tabIndex={-1}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault()
          navigate(cancelTo)
        }
      }}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      <p id={`${id}-what`}>{children}</p>
      <Form method="post" action={action} className="row">
        {Object.entries(fields).map(([name, value]) => <input key={name} type="hidden" name={name} value={value} />)}
        <SubmitButton className="danger" busyLabel={busyLabel} match={fields}>{confirmLabel}</SubmitButton>
        <Link to={cancelTo} className="button secondary">{t('ui.cancel')}</Link>
      </Form>
    </section>
  )
}
