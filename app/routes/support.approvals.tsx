import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react'
import { z } from 'zod'
import { requireSupport } from '#app/auth/guards.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { isDomainError } from '#app/errors.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { stepUpLocation } from '#app/http/resume.server.ts'
import { ACCESS_CODE_ACTION, decideRequest, isSteppedUp, listRequests, UNLOCK_ACTION } from '#app/support/approvals.server.ts'
import { IDENTITY_CHECKS } from '#app/support/reset.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { Time } from '#app/ui/time.tsx'

export const meta: MetaFunction = () => [{ title: 'Approvals · Support · Gatehouse' }]

const PATH = '/support/approvals'

const schema = z.object({
  intent: z.enum(['approve', 'refuse']),
  requestId: z.string().uuid('Unknown request'),
  // What the approver saw: the decision applies only if the stored request is exactly this.
  targetUserId: z.string().uuid('Unknown request'),
  requestAction: z.string().max(40),
  reason: z.string().max(1000),
  note: z.string().max(500).optional(),
})

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireSupport(request)
  const { pending, decided } = await listRequests()
  return { me: user.id, pending, decided, steppedUp: isSteppedUp(session), checkLabels: Object.fromEntries(IDENTITY_CHECKS.map((c) => [c.id, c.label])) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireSupport(request)
  // Step-up first: a stale second factor is sent to confirm it and comes back here.
  if (!isSteppedUp(session)) throw redirectTo(stepUpLocation(PATH))
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  const { intent, requestId, targetUserId, requestAction, reason, note } = form.data
  let outcome
  try {
    outcome = await decideRequest({
      approver: { id: user.id, email: user.email },
      approverSession: session,
      requestId,
      expect: { targetUserId, action: requestAction, reason },
      decision: intent,
      note,
      meta: requestMeta(request, context),
    })
  } catch (e) {
    if (isDomainError(e) && e.code === 'step_up_required') throw redirectTo(stepUpLocation(PATH))
    // Gone, decided, expired or changed meanwhile; or their own request, or one about their own
    // account (refused and audited by the domain).
    return formError(e, { extra: { requestId } })
  }
  const notice = outcome.decision === 'approved' && outcome.action === UNLOCK_ACTION ? (outcome.unlocked ? 'unlocked' : 'not_locked')
    : outcome.decision === 'approved' && outcome.action === ACCESS_CODE_ACTION ? 'access_code' : outcome.decision
  throw redirectTo(`${PATH}?notice=${notice}`)
}

const hoursLeft = (d: string | Date) => Math.max(0, Math.ceil((new Date(d).getTime() - Date.now()) / 3_600_000))

export default function Approvals() {
  const { me, pending, decided, steppedUp, checkLabels } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const busy = useNavigation().state !== 'idle'
  const errors = (result?.errors ?? {}) as Record<string, string>
  const notice = params.get('notice')
  return (
    <>
      <p><Link to="/support">← Search</Link></p>
      {notice === 'approved' ? <Notice>Approved: the reset has been carried out and the member emailed.</Notice> : null}
      {notice === 'access_code' ? <Notice>Approved: the support person who asked can now issue the temporary access code (it is shown to them once).</Notice> : null}
      {notice === 'refused' ? <Notice>Refused: nothing was changed.</Notice> : null}
      {notice === 'unlocked' ? <Notice>Approved: the account is unlocked.</Notice> : null}
      {notice === 'not_locked' ? <Notice>Approved, but the account was no longer locked: nothing else was changed.</Notice> : null}
      <FormError message={errors.form} />
      <section className="card">
        <h1>Approvals</h1>
        <p className="muted">
          Resets and unlocks of organization owners and admins (now or in the last 30 days) and of platform accounts, and unlocks of frozen
          accounts, need a second support person. You cannot decide your own requests, or requests about your own account.
          Requests expire after 24 hours.
        </p>
        {!steppedUp ? <div className="banner warn">Deciding needs a second factor from the last 5 minutes: you will be asked to confirm it first.</div> : null}
        {pending.length === 0 ? <p>No request is waiting.</p> : null}
        {pending.map((r) => (
          <article key={r.id} className="card" aria-label={`Request for ${r.targetEmail}`}>
            <h2>{r.action === 'unlock' ? 'Unlock the account of' : r.action === 'temporary_access' ? 'Temporary access code for' : 'Reset two-factor authentication of'} {r.targetEmail}</h2>
            <p>
              <Link to={`/support/users/${r.targetUserId}`}>{r.targetName}</Link> · region {r.targetRegion.toUpperCase()} · asked by {r.requesterEmail} on <Time value={r.createdAt} /> · expires in {hoursLeft(r.expiresAt)} h
            </p>
            <p><strong>Reason:</strong> {r.reason}</p>
            {r.ticket ? <p><strong>Ticket:</strong> {r.ticket}</p> : null}
            {r.checks.length ? (
              <>
                <p><strong>Identity checks:</strong></p>
                <ul>{r.checks.map((c) => <li key={c}>{checkLabels[c] ?? c}</li>)}</ul>
              </>
            ) : null}
            {r.requestedBy === me || r.targetUserId === me ? (
              <p className="muted">{r.requestedBy === me ? `You asked for this ${r.action === 'unlock' ? 'unlock' : r.action === 'temporary_access' ? 'code' : 'reset'}` : 'This is about your own account'}: another support person decides it.</p>
            ) : (
              <Form method="post" className="row" aria-label="Decide">
                <input type="hidden" name="requestId" value={r.id} />
                <input type="hidden" name="targetUserId" value={r.targetUserId} />
                <input type="hidden" name="requestAction" value={r.action} />
                <input type="hidden" name="reason" value={r.reason} />
                <div className="field">
                  <label htmlFor={`note-${r.id}`}>Note (optional)</label>
                  <input id={`note-${r.id}`} name="note" />
                </div>
                <button type="submit" name="intent" value="approve" className="danger" disabled={busy}>{r.action === 'unlock' ? 'Approve and unlock' : r.action === 'temporary_access' ? 'Approve the code' : 'Approve and reset'}</button>
                <button type="submit" name="intent" value="refuse" className="secondary" disabled={busy}>Refuse</button>
              </Form>
            )}
          </article>
        ))}
      </section>
      <section className="card">
        <h2>Recent decisions</h2>
        {decided.length ? (
          <table>
            <thead><tr><th>Member</th><th>Asked by</th><th>Status</th><th>Decided by</th><th>When</th></tr></thead>
            <tbody>
              {decided.map((r) => (
                <tr key={r.id}><td>{r.targetEmail}</td><td>{r.requesterEmail}</td><td>{r.status}</td><td>{r.decidedByEmail ?? '—'}</td><td><Time value={r.decidedAt ?? r.expiresAt} /></td></tr>
              ))}
            </tbody>
          </table>
        ) : <p className="muted">None in the last 14 days.</p>}
      </section>
    </>
  )
}
