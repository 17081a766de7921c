import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { orgAccessCodeForm } from '#app/support/forms.server.ts'
import { resetInputErrors } from '#app/support/reset.server.ts'
import { findOrgTarget, isTargetId } from '#app/support/targets.server.ts'
import {
  ACCESS_CODE_DEFAULT_HOURS, ACCESS_CODE_MAX_HOURS, ACCESS_CODE_MIN_HOURS, listAccessCodes, orgAdminIssueAccessCode, orgAdminRevokeAccessCode,
} from '#app/support/temporary-access.server.ts'
import { Notice } from '#app/ui/form.tsx'
import { AccessCodeList, IssueAccessCodeForm, IssuedAccessCode } from '#app/ui/access-code-issue.tsx'

export const meta: MetaFunction = () => [{ title: 'Temporary access code · Gatehouse' }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, user } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const target = await findOrgTarget(scope, params.userId, user.id)
  if (!target) throw notFound()
  return {
    org: { slug: org.slug, name: org.name },
    ...target,
    codes: target.allowed ? await listAccessCodes(target.member.id) : [],
    hours: { min: ACCESS_CODE_MIN_HOURS, max: ACCESS_CODE_MAX_HOURS, default: ACCESS_CODE_DEFAULT_HOURS },
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const targetId = params.userId
  if (!isTargetId(targetId)) throw notFound()
  const form = await parseForm(request, orgAccessCodeForm)
  if (!form.ok) return badRequest(form.errors)
  const actor = { id: user.id, email: user.email }
  const meta = requestMeta(request, context)
  if (form.data.intent === 'revoke_access_code') {
    try {
      await orgAdminRevokeAccessCode({ actor, org, scope, targetUserId: targetId, meta })
    } catch (e) {
      return formError(e, { formKey: 'accessCodes' })
    }
    throw redirectTo(`/orgs/${org.slug}/members/${targetId}/access-code?revoked=1`)
  }
  const { reason, ticket, checks, validHours } = form.data
  const values = { intent: 'access_code', reason, ticket, checks, validHours }
  const errors = resetInputErrors('org_admin', { reason, ticket, checks })
  if (Object.keys(errors).length) return badRequest(errors, values)
  try {
    const issued = await orgAdminIssueAccessCode({ actor, org, scope, targetUserId: targetId, reason, ticket, checks, validHours, meta })
    // The code is in this answer only, shown once (decision 070).
    return { issuedCode: { code: issued.code, expiresAt: issued.expiresAt.toISOString(), email: issued.email } }
  } catch (e) {
    return formError(e, { values })
  }
}

export default function OrgMemberAccessCode() {
  const { org, member, allowed, why, codes, checks, minChecks, hours } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const [params] = useSearchParams()
  const busy = useNavigation().state !== 'idle'
  const errors = (result && 'errors' in result ? result.errors ?? {} : {}) as Record<string, string>
  const values = (result && 'values' in result ? result.values ?? {} : {}) as Record<string, unknown>
  const issuedCode = result && 'issuedCode' in result ? result.issuedCode : null
  return (
    <section className="card">
      <p><Link to={`/orgs/${org.slug}/members`}>← Members of {org.name}</Link></p>
      <h1>Temporary access code for {member.name}</h1>
      <p className="muted">{member.email} · {member.role} of {org.name}</p>
      {params.get('revoked') ? <Notice>The temporary access code was revoked: it no longer works.</Notice> : null}
      {!allowed ? (
        <div className="banner warn" role="status">{why}</div>
      ) : (
        <>
          {issuedCode ? <IssuedAccessCode {...issuedCode} /> : null}
          <AccessCodeList codes={codes} canRevoke busy={busy} error={errors.accessCodes} />
          <IssueAccessCodeForm email={member.email} checks={checks} minChecks={minChecks} ticketRequired={false} hours={hours} errors={errors} values={values} busy={busy} />
        </>
      )}
    </section>
  )
}
