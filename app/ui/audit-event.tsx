import { describeAuditEvent, type AuditEventView } from '#app/audit/sentences.ts'

/** An audit event in words, with its stored details as JSON under "details" (decision 073). */
export function AuditEventText({ event }: { event: AuditEventView }) {
  const json = event.details && Object.keys(event.details).length ? JSON.stringify(event.details, null, 2) : null
  return (
    <>
      <span className="audit-sentence">{describeAuditEvent(event)}</span>
      {json ? (
        <details className="audit-details">
          <summary>details</summary>
          <pre>{json}</pre>
        </details>
      ) : null}
    </>
  )
}
