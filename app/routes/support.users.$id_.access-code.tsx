import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react'
import { requireSupport } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { supportAccessCodeForm } from '#app/support/forms.server.ts'
import { resetInputErrors } from '#app/support/reset.server.ts'
import { findSupportTarget, identityChecklist } from '#app/support/targets.server.ts'
import {
  ACCESS_CODE_DEFAULT_HOURS, ACCESS_CODE_MAX_HOURS, ACCESS_CODE_MIN_HOURS, approvedAccessCodeRequests, issueApprovedAccessCode, listAccessCodes, supportIssueAccessCode, supportRevokeAccessCode,
} from '#app/support/temporary-access.server.ts'
import { Notice } from '#app/ui/form.tsx'
import { AccessCodeList, HoursField, IssueAccessCodeForm, IssuedAccessCode } from '#app/ui/access-code-issue.tsx'

export const meta: MetaFunction = () => [{ title: 'Temporary access code · Support · Gatehouse' }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { user: me } = await requireSupport(request)
  const detail = await findSupportTarget(params.id)
  if (!detail) throw notFound()
  const id = detail.user.id
  const [codes, approved] = await Promise.all([listAccessCodes(id), approvedAccessCodeRequests(id, me.id)])
  return {
    member: { id, email: detail.user.email, name: detail.user.name },
    codes,
    approved,
    isSelf: me.id === id,
    ...identityChecklist(),
    hours: { min: ACCESS_CODE_MIN_HOURS, max: ACCESS_CODE_MAX_HOURS, default: ACCESS_CODE_DEFAULT_HOURS },
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { user: me } = await requireSupport(request)
  const id = (await findSupportTarget(params.id))?.user.id
  if (!id) throw notFound()
  const form = await parseForm(request, supportAccessCodeForm)
  if (!form.ok) return badRequest(form.errors)
  const actor = { id: me.id, email: me.email }
  const meta = requestMeta(request, context)
  const here = `/support/users/${id}/access-code`
  if (form.data.intent === 'revoke_access_code') {
    try {
      await supportRevokeAccessCode({ actor, targetUserId: id, meta })
    } catch (e) {
      return formError(e, { formKey: 'accessCodes' })
    }
    throw redirectTo(`${here}?notice=revoked`)
  }
  // The code is in this answer only: never in a URL, a flash or a log (decision 070).
  if (form.data.intent === 'access_code_approved') {
    try {
      const issued = await issueApprovedAccessCode({ actor, requestId: form.data.requestId, targetUserId: id, validHours: form.data.validHours, meta })
      return { issuedCode: { code: issued.code, expiresAt: issued.expiresAt.toISOString(), email: issued.email } }
    } catch (e) {
      return formError(e, { formKey: 'accessCodes' })
    }
  }
  const { reason, ticket, checks, validHours } = form.data
  const values = { intent: 'access_code', reason, ticket, checks, validHours }
  const errors = resetInputErrors('support', { reason, ticket, checks })
  if (Object.keys(errors).length) return badRequest(errors, values)
  let outcome
  try {
    outcome = await supportIssueAccessCode({ actor, targetUserId: id, reason, ticket, checks, validHours, meta })
  } catch (e) {
    return formError(e, { values })
  }
  if (outcome.status === 'pending') throw redirectTo(`${here}?notice=requested`)
  return { issuedCode: { code: outcome.issued.code, expiresAt: outcome.issued.expiresAt.toISOString(), email: outcome.issued.email } }
}

const NOTICES: Record<string, string> = {
  revoked: 'The temporary access code was revoked: it no longer works.',
  requested:
    'This person is an organization owner or admin (now or in the last 30 days), or a platform account: the code waits for a second support person at Approvals. Once approved, come back here to issue it.',
}

export default function SupportAccessCode() {
  const { member, codes, approved, isSelf, checks, minChecks, hours } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const busy = useNavigation().state !== 'idle'
  const errors = (result && 'errors' in result ? result.errors ?? {} : {}) as Record<string, string>
  const values = (result && 'values' in result ? result.values ?? {} : {}) as Record<string, unknown>
  const issuedCode = result && 'issuedCode' in result ? result.issuedCode : null
  const notice = NOTICES[params.get('notice') ?? '']
  return (
    <>
      <p><Link to={`/support/users/${member.id}`}>← {member.email}</Link></p>
      {notice ? <Notice>{notice}</Notice> : null}
      <section className="card">
        <h1>Temporary access code for {member.name}</h1>
        {issuedCode ? <IssuedAccessCode {...issuedCode} /> : null}
        <AccessCodeList codes={codes} canRevoke={!isSelf} busy={busy} error={errors.accessCodes} />
        {approved.map((r) => (
          <Form key={r.id} method="post" aria-label="Issue the approved code" className="card">
            <p>Your request was approved (reason: {r.reason}). Issue the code now; it is shown once.</p>
            <input type="hidden" name="intent" value="access_code_approved" />
            <input type="hidden" name="requestId" value={r.id} />
            <HoursField id={`valid-hours-${r.id}`} hours={hours} />
            <button type="submit" disabled={busy}>Issue the approved code</button>
          </Form>
        ))}
        {isSelf ? (
          <p className="muted">You cannot issue a code for your own account. Ask another support person.</p>
        ) : (
          <IssueAccessCodeForm email={member.email} checks={checks} minChecks={minChecks} ticketRequired hours={hours} errors={errors} values={values} busy={busy} />
        )}
      </section>
    </>
  )
}
