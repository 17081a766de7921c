import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpToResume } from '#app/http/resume.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { addExemption, listExemptions, removeExemption } from '#app/policy/exemptions.server.ts'
import { exemptionsForm } from '#app/policy/policy.schema.ts'
import { Field, FormError, Notice, SelectField } from '#app/ui/form.tsx'
import { OrgNav } from '#app/ui/org-nav.tsx'
import { ResumeChange } from '#app/ui/resume.tsx'
import { Time } from '#app/ui/time.tsx'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'

export const meta: MetaFunction = () => [{ title: 'Exemptions · Gatehouse' }]


export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [rows, regions] = await Promise.all([listExemptions(scope), listOrgRegions(scope)])
  const now = Date.now()
  // A removal to confirm first (?remove=), decision 072.
  const removing = rows.find((r) => r.id === new URL(request.url).searchParams.get('remove'))
  return {
    confirmRemove: removing ? { id: removing.id, name: removing.name, email: removing.email, region: removing.region } : null,
    org: { name: org.name, slug: org.slug },
    regions: regions.map((r) => r.region),
    done: new URL(request.url).searchParams.get('done'),
    // An exemption carried back from step-up, ready to add (decision 056).
    resumed: readResumed(request, exemptionsForm),
    exemptions: rows.map((r) => ({ ...r, expiresAt: r.expiresAt?.toISOString() ?? null, lapsed: Boolean(r.expiresAt && r.expiresAt.getTime() <= now), createdAt: r.createdAt.toISOString() })),
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const parsed = await parseForm(request, exemptionsForm)
  if (!parsed.ok) return badRequest(parsed.errors)
  const actor = { id: user.id, label: user.email }
  try {
    if (parsed.data.intent === 'add') {
      const { intent: _i, ...input } = parsed.data
      await addExemption(scope, input, actor, sessionAuthority(session), requestMeta(request, context))
      throw redirectTo(`/orgs/${org.slug}/exemptions?done=added`)
    }
    await removeExemption(scope, parsed.data.id, actor, requestMeta(request, context))
    throw redirectTo(`/orgs/${org.slug}/exemptions?done=removed`)
  } catch (e) {
    if (parsed.data.intent === 'add') stepUpToResume(e, `/orgs/${org.slug}/exemptions`, 'add', parsed.data)
    const { intent: _i, ...values } = parsed.data
    return formError(e, { values })
  }
}

export default function Exemptions() {
  const { org, exemptions, regions, done, resumed, confirmRemove } = useLoaderData<typeof loader>()
  const a = useActionData<typeof action>() as { errors: Record<string, string>; values?: Record<string, string> } | undefined
  const errors = a?.errors ?? {}
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>Exemptions</h1>
        <p className="hint">Only service accounts can be exempted from a region's policy: they cannot answer a second-factor prompt. People get more time through a deadline extension instead.</p>
        {done ? <Notice>Exemption {done}.</Notice> : null}
        {confirmRemove ? (
          <ConfirmAction title={`Remove the exemption of ${confirmRemove.email} in ${confirmRemove.region.toUpperCase()}?`} fields={{ intent: 'remove', id: confirmRemove.id }} confirmLabel="Remove exemption" busyLabel="Removing…" cancelTo={`/orgs/${org.slug}/exemptions`}>
            {confirmRemove.name} ({confirmRemove.email}) is no longer exempt in {confirmRemove.region.toUpperCase()}: from now on {org.name}’s policy there applies to it like to everyone else. Adding the exemption back needs a fresh second factor.
          </ConfirmAction>
        ) : null}
        {exemptions.length === 0 ? <p>No exemptions.</p> : (
          <table>
            <thead><tr><th>Account</th><th>Region</th><th>Reason</th><th>Ends</th><th></th></tr></thead>
            <tbody>
              {exemptions.map((x) => (
                <tr key={x.id}>
                  <td>{x.name}<br /><span className="muted">{x.email}</span></td>
                  <td>{x.region.toUpperCase()}</td>
                  <td>{x.reason}</td>
                  <td>{x.expiresAt ? <Time value={x.expiresAt} style="date" /> : 'No end date'} {x.lapsed ? <span className="badge bad">lapsed</span> : null}</td>
                  <td>
                    <Link to={`?remove=${x.id}#confirm`} aria-label={`Remove exemption of ${x.email} in ${x.region}…`}>Remove…</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {resumed ? (
        <ResumeChange resumed={resumed} label="Add exemption" cancelTo={`/orgs/${org.slug}/exemptions`}>
          Exempt {String(resumed.values.email)} in {String(resumed.values.region).toUpperCase()}{' '}
          {resumed.values.expiresAt ? <>until <Time value={String(resumed.values.expiresAt)} style="date" /></> : 'with no end date'}: {String(resumed.values.reason)}
        </ResumeChange>
      ) : null}
      <section className="card narrow">
        <h2>Exempt a service account</h2>
        <FormError message={errors.form ?? errors.id} />
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="add" />
          <Field label="Service account email" name="email" type="email" required defaultValue={a?.values?.email ?? ''} error={errors.email} />
          <SelectField label="Region" name="region" defaultValue={a?.values?.region ?? regions[0]} error={errors.region}>
            {regions.map((r) => <option key={r} value={r}>{r.toUpperCase()}</option>)}
          </SelectField>
          <Field label="Reason" name="reason" required defaultValue={a?.values?.reason ?? ''} error={errors.reason} />
          <Field label="End date (optional)" name="expiresAt" type="date" defaultValue={a?.values?.expiresAt ?? ''} error={errors.expiresAt} hint="The exemption lapses on its own at the end of that day (UTC)." />
          <SubmitButton busyLabel="Adding…" match={{ intent: 'add' }}>Add exemption</SubmitButton>
        </Form>
      </section>
    </>
  )
}
