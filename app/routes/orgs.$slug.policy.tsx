import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { hasFreshSecondFactor } from '#app/mfa/step-up.server.ts'
import { Form, useActionData, useLoaderData, useNavigation, useRevalidator } from '@remix-run/react'
import { useEffect } from 'react'
import { z } from 'zod'
import { requireOrgRole } from '#app/auth/guards.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { listRecentRuns } from '#app/policy/notification-runs.server.ts'
import { previewPolicyChange, regionPolicyInput, StepUpRequiredError, updateRegionPolicy } from '#app/policy/region-policy.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { fmtDate, fmtDateTime, METHOD_LABELS, OrgNav } from '#app/ui/org-nav.tsx'

export const meta: MetaFunction = () => [{ title: 'MFA policy · Gatehouse' }]

const form = regionPolicyInput.extend({ region: z.string().min(1).max(20), intent: z.enum(['preview', 'save']) })

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, session } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [regions, runs] = await Promise.all([listOrgRegions(scope), listRecentRuns(org.id)])
  const url = new URL(request.url)
  return {
    org: { name: org.name, slug: org.slug },
    saved: url.searchParams.get('saved'),
    stepUpFresh: hasFreshSecondFactor(session),
    regions: regions.map((r) => ({ ...r, requiredSince: r.requiredSince?.toISOString() ?? null, updatedAt: r.updatedAt.toISOString() })),
    runs: runs.map((r) => ({ id: r.id, region: r.region, kind: r.kind, total: r.total, done: r.done, status: r.status, createdAt: r.createdAt.toISOString() })),
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const parsed = await parseForm(request, form)
  if (!parsed.ok) return badRequest(parsed.errors)
  const { region, intent, ...proposed } = parsed.data
  const regions = await listOrgRegions(scope)
  if (!regions.some((r) => r.region === region)) throw notFound()
  const impact = await previewPolicyChange(org.id, region, proposed)
  const preview = { ...impact, earliestDeadline: impact.earliestDeadline?.toISOString() ?? null }
  if (intent === 'preview') return { region, preview, values: proposed }
  try {
    await updateRegionPolicy({ orgId: org.id, region, proposed, actor: { id: user.id, label: user.email }, meta: requestMeta(request, context), secondFactorAt: session.secondFactorAt })
  } catch (e) {
    if (e instanceof StepUpRequiredError) {
      // The step-up page (MFA area) sends the admin back here to save again.
      throw redirectTo(`/settings/security/confirm?redirectTo=${encodeURIComponent(`/orgs/${org.slug}/policy?stepup=${region}`)}`)
    }
    throw e
  }
  throw redirectTo(`/orgs/${org.slug}/policy?saved=${encodeURIComponent(region)}`)
}

type Values = { mode: string; allowedMethods: string[]; gracePeriodDays: number; onDeadline: string; rememberDeviceDays: number }

export default function PolicyPage() {
  const { org, regions, runs, saved } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>() as
    | { region: string; preview: { summary: string; emailOnlyWarning: boolean; becomesDisabled: boolean; becomesRequired: boolean }; values: Values }
    | { errors: Record<string, string> }
    | undefined
  const nav = useNavigation()
  // While a notification run is in progress, refresh its progress every 2 seconds.
  const revalidator = useRevalidator()
  const running = runs.some((r) => r.status !== 'done')
  useEffect(() => {
    if (!running) return
    const timer = setInterval(() => {
      if (revalidator.state === 'idle' && document.visibilityState === 'visible') revalidator.revalidate()
    }, 2000)
    return () => clearInterval(timer)
  }, [running, revalidator])
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>MFA policy</h1>
        <p className="hint">One policy per region. Members of several organizations in a region get the strictest combination. Preview a change to see its impact before saving.</p>
        {saved ? <Notice>Policy for {saved.toUpperCase()} saved.</Notice> : null}
        {actionData && 'errors' in actionData ? <FormError message={Object.values(actionData.errors).join(' ')} /> : null}
      </section>
      {regions.map((r) => {
        const mine = actionData && 'preview' in actionData && actionData.region === r.region ? actionData : null
        const v: Values = mine?.values ?? r
        return (
          <section className="card" key={r.region} aria-labelledby={`region-${r.region}`}>
            <h2 id={`region-${r.region}`}>Region {r.region.toUpperCase()}</h2>
            <p className="hint">
              Currently <strong>{r.mode}</strong>
              {r.mode === 'required' && r.requiredSince ? `, required since ${fmtDate(r.requiredSince)}` : ''}. Last changed {fmtDateTime(r.updatedAt)}.
            </p>
            <Form method="post" key={JSON.stringify(v)}>
              <input type="hidden" name="region" value={r.region} />
              <div className="field">
                <label htmlFor={`mode-${r.region}`}>Mode</label>
                <select id={`mode-${r.region}`} name="mode" defaultValue={v.mode}>
                  <option value="disabled">Disabled — no second factor asked, no enrollment offered</option>
                  <option value="optional">Optional — members with a factor are asked for it</option>
                  <option value="required">Required — every member needs an allowed factor</option>
                </select>
              </div>
              <fieldset className="field">
                <legend>Allowed methods (at least one)</legend>
                {(['email', 'totp', 'webauthn'] as const).map((m) => (
                  <label key={m} style={{ fontWeight: 400 }}>
                    <input type="checkbox" name="allowedMethods" value={m} defaultChecked={v.allowedMethods.includes(m)} /> {METHOD_LABELS[m]}
                  </label>
                ))}
              </fieldset>
              <div className="row">
                <div className="field">
                  <label htmlFor={`grace-${r.region}`}>Grace period (days, 0–90)</label>
                  <input id={`grace-${r.region}`} name="gracePeriodDays" type="number" min={0} max={90} required defaultValue={v.gracePeriodDays} />
                </div>
                <div className="field">
                  <label htmlFor={`deadline-${r.region}`}>At the deadline</label>
                  <select id={`deadline-${r.region}`} name="onDeadline" defaultValue={v.onDeadline}>
                    <option value="force_enrollment">Force enrollment at next sign-in</option>
                    <option value="block">Block sign-in</option>
                  </select>
                </div>
                <div className="field">
                  <label htmlFor={`remember-${r.region}`}>Remember device (days, 0–30)</label>
                  <input id={`remember-${r.region}`} name="rememberDeviceDays" type="number" min={0} max={30} required defaultValue={v.rememberDeviceDays} />
                </div>
              </div>
              {mine ? (
                <div role="status" aria-live="polite">
                  <div className="banner info"><strong>Impact:</strong> {mine.preview.summary}.</div>
                  {mine.preview.emailOnlyWarning ? (
                    <div className="banner warn">Email code would be the only allowed factor, and password reset also goes by email: whoever controls a member's mailbox could take over the account. Consider allowing an authenticator app or a security key.</div>
                  ) : null}
                  {mine.preview.becomesDisabled ? <div className="banner warn">Disabling needs a fresh second factor; affected members will be emailed.</div> : null}
                  {mine.preview.becomesRequired ? <div className="banner info">Every affected member will be emailed their deadline.</div> : null}
                </div>
              ) : null}
              <div className="row">
                <button type="submit" name="intent" value="preview" className="secondary" disabled={nav.state !== 'idle'}>Preview impact</button>
                <button type="submit" name="intent" value="save" disabled={nav.state !== 'idle'}>Save {r.region.toUpperCase()} policy</button>
              </div>
            </Form>
          </section>
        )
      })}
      {runs.length ? (
        <section className="card">
          <h2>Member notifications</h2>
          <table>
            <thead><tr><th>Started</th><th>Region</th><th>What</th><th>Progress</th></tr></thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id}>
                  <td>{fmtDateTime(run.createdAt)}</td>
                  <td>{run.region.toUpperCase()}</td>
                  <td>{run.kind === 'policy_required' ? 'Now required: deadlines' : 'Turned off'}</td>
                  <td>
                    <progress max={Math.max(run.total, 1)} value={run.done} aria-label={`Notification progress ${run.region}`} /> {run.done} / {run.total} {run.status === 'done' ? '(done)' : `(${run.status})`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  )
}
