import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { resetForm } from '#app/support/forms.server.ts'
import { orgAdminReset } from '#app/support/org-admin-reset.server.ts'
import { resetInputErrors } from '#app/support/reset.server.ts'
import { findOrgTarget, isTargetId } from '#app/support/targets.server.ts'
import { Notice } from '#app/ui/form.tsx'
import { ResetMfaForm } from '#app/ui/reset-mfa-form.tsx'
import { readResumed } from '#app/http/resume.server.ts'
import { requireStepUp } from '#app/sign-in/web.server.ts'
import { ResumeChange } from '#app/ui/resume.tsx'

export const meta: MetaFunction = () => [{ title: 'Reset two-factor authentication · Gatehouse' }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, user } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const target = await findOrgTarget(scope, params.userId, user.id)
  if (!target) throw notFound()
  return {
    org: { slug: org.slug, name: org.name },
    ...target,
    // The reset carried back from step-up, ready to finish (decision 072).
    resumed: target.allowed ? readResumed(request, resetForm) : null,
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const targetId = params.userId
  if (!isTargetId(targetId)) throw notFound()
  const form = await parseForm(request, resetForm)
  if (!form.ok) return badRequest(form.errors)
  const { reason, ticket, checks } = form.data
  const values = { reason, ticket, checks }
  const errors = resetInputErrors('org_admin', { reason, ticket, checks })
  if (Object.keys(errors).length) return badRequest(errors, values)
  // Removing someone's factors needs a fresh second factor; the reset comes back through step-up (decision 072).
  await requireStepUp(user.id, session, `/orgs/${org.slug}/members/${targetId}/reset`, { intent: 'reset', values: { ...values, confirm: form.data.confirm } })
  try {
    await orgAdminReset({ actor: { id: user.id, email: user.email }, org, scope, targetUserId: targetId, reason, ticket, checks, meta: requestMeta(request, context) })
  } catch (e) {
    return formError(e, { values })
  }
  throw redirectTo(`/orgs/${org.slug}/members/${targetId}/reset?done=1`)
}

export default function OrgMemberReset() {
  const { org, member, allowed, why, checks, minChecks, resumed } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  return (
    <section className="card">
      <p><Link to={`/orgs/${org.slug}/members`}>← Members of {org.name}</Link></p>
      <h1>Reset two-factor authentication of {member.name}</h1>
      <p className="muted">{member.email} · {member.role} of {org.name}</p>
      {allowed ? <p>Only lost a phone or a key? <Link to={`/orgs/${org.slug}/members/${member.id}/access-code`}>Issue a temporary access code instead</Link>: it keeps their other factors.</p> : null}
      {params.get('done') ? (
        <Notice>Done: {member.email} has no factor, recovery code or remembered device left, was signed out everywhere, and has been emailed what to do next.</Notice>
      ) : allowed && resumed ? (
        <ResumeChange resumed={resumed} label="Reset two-factor authentication" busyLabel="Resetting…" cancelTo=".">
          Reset two-factor authentication of {member.email}. Reason: {String(resumed.values.reason)}{resumed.values.ticket ? ` (ticket ${String(resumed.values.ticket)})` : ''}.
        </ResumeChange>
      ) : allowed ? (
        <ResetMfaForm
          email={member.email}
          checks={checks}
          minChecks={minChecks}
          ticketRequired={false}
          errors={(result?.errors ?? {}) as Record<string, string>}
          values={(result?.values ?? {}) as Record<string, unknown>}
        />
      ) : (
        <div className="banner warn" role="status">{why}</div>
      )}
    </section>
  )
}
