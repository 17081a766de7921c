import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { requireSupport } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { listRequests, supportReset, supportUnlock } from '#app/support/approvals.server.ts'
import { supportMemberForm } from '#app/support/forms.server.ts'
import { resetInputErrors } from '#app/support/reset.server.ts'
import { findSupportTarget, identityChecklist } from '#app/support/targets.server.ts'
import { describedBy, FieldError, FormError, Notice } from '#app/ui/form.tsx'
import { ResetMfaForm } from '#app/ui/reset-mfa-form.tsx'
import { Time } from '#app/ui/time.tsx'
import { readResumed } from '#app/http/resume.server.ts'
import { requireStepUp } from '#app/sign-in/web.server.ts'
import { ResumeChange } from '#app/ui/resume.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'
import { AccessCodeList } from '#app/ui/access-code-issue.tsx'
import { listAccessCodes } from '#app/support/temporary-access.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.detail.user.email ?? 'Member'} · Support · Gatehouse` }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { user: me } = await requireSupport(request)
  const detail = await findSupportTarget(params.id)
  if (!detail) throw notFound()
  const id = detail.user.id
  const { pending } = await listRequests({ targetUserId: id })
  // A reset or unlock carried back from step-up, ready to finish (decision 072).
  const resumed = me.id === id ? null : readResumed(request, supportMemberForm)
  return { detail, pending, ...identityChecklist(), isSelf: me.id === id, resumed, accessCodes: await listAccessCodes(id) }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { user: me, session } = await requireSupport(request)
  const id = (await findSupportTarget(params.id))?.user.id
  if (!id) throw notFound()
  const here = `/support/users/${id}`
  const form = await parseForm(request, supportMemberForm)
  if (!form.ok) return badRequest(form.errors)
  const actor = { id: me.id, email: me.email }
  const meta = requestMeta(request, context)
  if (form.data.intent === 'unlock') {
    const values = { intent: 'unlock', reason: form.data.reason }
    // Unlocking and resetting need a fresh second factor; the change comes back through step-up (decision 072).
    await requireStepUp(me.id, session, here, { intent: 'unlock', values: { reason: form.data.reason } })
    try {
      const done = await supportUnlock({ actor, targetUserId: id, reason: form.data.reason, meta })
      throw redirectTo(`/support/users/${id}?notice=${done.status === 'pending' ? 'unlock_requested' : 'unlocked'}`)
    } catch (e) {
      return formError(e, { fields: { reason: 'unlockReason' }, formKey: 'unlockForm', values })
    }
  }
  const { reason, ticket, checks } = form.data
  const values = { intent: 'reset', reason, ticket, checks }
  const errors = resetInputErrors('support', { reason, ticket, checks })
  if (Object.keys(errors).length) return badRequest(errors, values)
  await requireStepUp(me.id, session, here, { intent: 'reset', values: { reason, ticket, checks, confirm: form.data.confirm } })
  try {
    const outcome = await supportReset({ actor, targetUserId: id, reason, ticket, checks, meta })
    throw redirectTo(`/support/users/${id}?notice=${outcome.status === 'done' ? 'reset' : 'requested'}`)
  } catch (e) {
    return formError(e, { values })
  }
}

const NOTICES: Record<string, string> = {
  unlocked: 'The account is unlocked. The member can sign in again.',
  reset: 'Two-factor authentication was reset: every factor, recovery code and remembered device is gone, every session ended, and the member has been emailed.',
  requested: 'This person is an organization owner or admin (now or in the last 30 days), or a platform account: the reset waits for a second support person at Approvals.',
  unlock_requested: 'This account was frozen by its member, or belongs to an owner or admin (now or in the last 30 days) or a platform account: the unlock waits for a second support person at Approvals.',
}


export default function SupportMember() {
  const { detail, pending, checks, minChecks, isSelf, resumed, accessCodes } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const errors = (result?.errors ?? {}) as Record<string, string>
  const values = (result?.values ?? {}) as Record<string, unknown>
  const { user, lockout } = detail
  const notice = NOTICES[params.get('notice') ?? '']
  return (
    <>
      <p><Link to="/support">← Search</Link></p>
      {notice ? <Notice>{notice}</Notice> : null}
      {resumed && !notice ? (
        <ResumeChange resumed={resumed} label={resumed.intent === 'unlock' ? 'Unlock account' : 'Reset two-factor authentication'} busyLabel={resumed.intent === 'unlock' ? 'Unlocking…' : 'Resetting…'} cancelTo=".">
          {resumed.intent === 'unlock' ? 'Unlock' : 'Reset two-factor authentication of'} {detail.user.email}. Reason: {String(resumed.values.reason)}{resumed.values.ticket ? ` (ticket ${String(resumed.values.ticket)})` : ''}.
        </ResumeChange>
      ) : null}
      <section className="card">
        <h1>{user.name}</h1>
        <p>
          {user.email} · region {user.region.toUpperCase()}
          {user.kind === 'service' ? ' · service account' : ''}
          {user.platformRole !== 'none' ? <> · <span className="badge warn">{user.platformRole}</span></> : null}
        </p>
        <p className="muted">Account created <Time value={user.createdAt} /> · last sign-in <Time value={user.lastSignInAt} />{user.mfaResetAt ? <> · last 2FA reset <Time value={user.mfaResetAt} /></> : ''}</p>
        <h2>Organizations</h2>
        {detail.organizations.length ? (
          <table>
            <thead><tr><th>Organization</th><th>Role</th><th>Joined</th></tr></thead>
            <tbody>{detail.organizations.map((o) => <tr key={o.slug}><td>{o.name}</td><td>{o.role}</td><td><Time value={o.joinedAt} /></td></tr>)}</tbody>
          </table>
        ) : <p className="muted">No organization.</p>}
        {user.privilegedUntil && new Date(user.privilegedUntil) > new Date() ? (
          <p className="banner warn">An owner or admin of an organization until recently: until <Time value={user.privilegedUntil} />, resets and unlocks need a second support person.</p>
        ) : null}
      </section>

      <section className="card">
        <h2>Two-factor authentication</h2>
        <p>Status: {user.mfaEnabledAt ? <span className="badge ok">on since <Time value={user.mfaEnabledAt} /></span> : <span className="badge">off</span>}{user.preferredMethod ? ` · prefers ${user.preferredMethod}` : ''}</p>
        {detail.factors.length ? (
          <table aria-label="Factors">
            <thead><tr><th>Kind</th><th>Name</th><th>Added</th><th>Last used</th></tr></thead>
            <tbody>
              {detail.factors.map((f, i) => (
                <tr key={i}><td>{f.kind === 'totp' ? 'App' : 'Key'}</td><td>{f.name}{f.confirmed ? '' : ' (setup not finished)'}</td><td><Time value={f.createdAt} /></td><td><Time value={f.lastUsedAt} /></td></tr>
              ))}
            </tbody>
          </table>
        ) : <p className="muted">No authenticator app or security key.</p>}
        <p>Recovery codes left: <strong>{detail.recoveryCodesLeft}</strong></p>
        <h3>Remembered devices</h3>
        {detail.trustedDevices.length ? (
          <table aria-label="Remembered devices">
            <thead><tr><th>Device</th><th>Method</th><th>Added</th><th>Last used</th><th>Expires</th></tr></thead>
            <tbody>{detail.trustedDevices.map((d, i) => <tr key={i}><td>{d.label}</td><td>{d.method}</td><td><Time value={d.createdAt} /></td><td><Time value={d.lastUsedAt} /></td><td><Time value={d.expiresAt} /></td></tr>)}</tbody>
          </table>
        ) : <p className="muted">None.</p>}
      </section>

      <section className="card">
        <h2>Lockout</h2>
        {lockout.locked ? (
          <>
            <p><span className="badge bad">Locked</span> until <Time value={lockout.until} /> ({Math.ceil(lockout.remainingSeconds / 60)} min left; lockouts so far: {lockout.lockCount}).</p>
            <FormError message={errors.unlockForm} />
            <Form method="post" noValidate aria-label="Unlock">
              <input type="hidden" name="intent" value="unlock" />
              <div className="field">
                <label htmlFor="unlock-reason">Reason for unlocking</label>
                <input id="unlock-reason" name="reason" required defaultValue={values.intent === 'unlock' ? String(values.reason ?? '') : ''} {...describedBy('unlock-reason', errors.unlockReason)} />
                <FieldError id="unlock-reason" error={errors.unlockReason} />
              </div>
              <SubmitButton busyLabel="Unlocking…" match={{ intent: 'unlock' }}>Unlock account</SubmitButton>
            </Form>
          </>
        ) : <p><span className="badge ok">Not locked</span> · failed attempts in a row: {lockout.failedAttempts}</p>}
      </section>

      <section className="card" aria-label="Temporary access code">
        <h2>Temporary access code</h2>
        <p>Lost only a phone or a key? A temporary access code signs the member in once to add a new one, and keeps their other factors (decision 070).</p>
        <AccessCodeList codes={accessCodes} canRevoke={false} />
        {isSelf ? null : <p><Link to={`/support/users/${user.id}/access-code`}>Issue or revoke a temporary access code</Link></p>}
      </section>

      <section className="card">
        <h2>Reset two-factor authentication</h2>
        {pending.length ? <div className="banner warn">{pending[0].action === 'unlock' ? 'An unlock' : 'A reset'} of this account is waiting for approval (asked by {pending[0].requesterEmail}). <Link to="/support/approvals">Approvals</Link></div> : null}
        {isSelf ? (
          <p className="muted">You cannot reset your own account. Ask another support person.</p>
        ) : (
          <ResetMfaForm email={user.email} checks={checks} minChecks={minChecks} ticketRequired errors={errors} values={values} />
        )}
      </section>

      <section className="card">
        <h2>Recent security events</h2>
        {detail.events.length ? (
          <table aria-label="Security events">
            <thead><tr><th>When</th><th>Event</th><th>By</th><th>Details</th></tr></thead>
            <tbody>{detail.events.map((e) => <tr key={e.id}><td><Time value={e.createdAt} /></td><td>{e.sentence}<br /><code className="muted">{e.action}</code></td><td>{e.actorLabel}</td><td>{e.details ? <details className="audit-details"><summary>details</summary>{e.details}</details> : null}</td></tr>)}</tbody>
          </table>
        ) : <p className="muted">No events.</p>}
      </section>
    </>
  )
}
