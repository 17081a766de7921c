import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { Form, useActionData, useLoaderData, useNavigation, useRevalidator } from '@remix-run/react'
import { useEffect } from 'react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { isDomainError } from '#app/errors.ts'
import { httpStatus } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpToResume } from '#app/http/resume.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { listRecentRuns } from '#app/policy/notification-runs.server.ts'
import { POLICY_METHODS } from '#app/mfa/methods.schema.ts'
import { DEADLINE_ACTIONS, DEADLINE_LABELS, MODE_LABELS, policyForm } from '#app/policy/policy.schema.ts'
import {
  reviewPolicyChange,
  updateRegionPolicy,
  type PolicyReview,
} from '#app/policy/region-policy.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { METHOD_LABELS, OrgNav } from '#app/ui/org-nav.tsx'
import { Time } from '#app/ui/time.tsx'
import { notificationRunState, RUN_STATE_LABELS } from '#app/policy/notification-run-state.ts'

export const meta: MetaFunction = () => [{ title: 'MFA policy · Gatehouse' }]


const reviewView = (r: PolicyReview) => ({ ...r, impact: { ...r.impact, earliestDeadline: r.impact.earliestDeadline?.toISOString() ?? null } })

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, session, user } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [regions, runs] = await Promise.all([listOrgRegions(scope), listRecentRuns(org.id)])
  const sp = new URL(request.url).searchParams
  // Back from step-up (?resume=...): the same change, reviewed afresh against the stored policy, ready to save.
  const resumed = readResumed(request, policyForm)
  let review: ReturnType<typeof reviewView> | null = null
  if (resumed && regions.some((r) => r.region === resumed.data.region)) {
    const { region, intent: _i, reviewToken: _t, ...values } = resumed.data
    const r = await reviewPolicyChange(org.id, region, values, user.id)
    review = r ? reviewView(r) : null
  }
  return {
    org: { name: org.name, slug: org.slug },
    saved: sp.get('saved'),
    unchanged: sp.get('unchanged'),
    stepUpFresh: hasFreshSecondFactor(session),
    review,
    regions: regions.map((r) => ({ ...r, requiredSince: r.requiredSince?.toISOString() ?? null, updatedAt: r.updatedAt.toISOString() })),
    runs: runs.map((r) => ({ id: r.id, region: r.region, kind: r.kind, total: r.total, done: r.done, status: r.status, state: notificationRunState(r, new Date()), createdAt: r.createdAt.toISOString() })),
  }
}

/**
 * "Review changes" (intent preview) shows the impact and old → new values with a token bound to
 * them; "Save" saves only with that token, against the policy as it still is (409 otherwise).
 */
export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const parsed = await parseForm(request, policyForm)
  if (!parsed.ok) return badRequest(parsed.errors)
  const { region, intent, reviewToken, ...proposed } = parsed.data
  const regions = await listOrgRegions(scope)
  if (!regions.some((r) => r.region === region)) throw notFound()
  if (intent === 'edit') return { region, values: proposed, review: null, error: null }
  if (intent === 'preview') {
    const review = await reviewPolicyChange(org.id, region, proposed, user.id)
    if (!review) throw notFound()
    return { region, values: proposed, review: reviewView(review), error: null }
  }
  let result
  try {
    result = await updateRegionPolicy({
      orgId: org.id, region, proposed, actor: { id: user.id, label: user.email }, meta: requestMeta(request, context), authority: sessionAuthority(session), review: { token: reviewToken },
    })
  } catch (e) {
    // A lowering without a fresh second factor: through step-up and back to this change's review, to save it.
    stepUpToResume(e, `/orgs/${org.slug}/policy`, 'preview', { region, ...proposed })
    // A stale or missing review (409), a lowering by someone who may not: the message above the form.
    if (isDomainError(e)) return data({ region, values: proposed, review: null, error: e.message }, { status: httpStatus(e.code) })
    throw e
  }
  if (!result) throw notFound()
  throw redirectTo(`/orgs/${org.slug}/policy?${result.changed ? 'saved' : 'unchanged'}=${encodeURIComponent(region)}`)
}

type Values = { mode: string; allowedMethods: string[]; gracePeriodDays: number; onDeadline: string; rememberDeviceDays: number }
type Review = ReturnType<typeof reviewView>

const FIELD_LABELS: Record<keyof Values, string> = {
  mode: 'Mode', allowedMethods: 'Allowed methods', gracePeriodDays: 'Grace period', onDeadline: 'At the deadline', rememberDeviceDays: 'Remember device',
}
function fieldValue(field: keyof Values, v: unknown): string {
  if (field === 'mode') return (MODE_LABELS as Record<string, string>)[String(v)] ?? String(v)
  if (field === 'allowedMethods') return (v as string[]).map((m) => METHOD_LABELS[m] ?? m).join(', ')
  if (field === 'onDeadline') return (DEADLINE_LABELS as Record<string, string>)[String(v)] ?? String(v)
  return `${v} ${v === 1 ? 'day' : 'days'}`
}

export default function PolicyPage() {
  const { org, regions, runs, saved, unchanged, stepUpFresh, review: loaderReview } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>() as
    | { region: string; values: Values; review: Review | null; error: string | null }
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
        <p className="hint">One policy per region. Members of several organizations in a region get the strictest combination. Review a change to see its impact before saving it.</p>
        {saved ? <Notice>Policy for {saved.toUpperCase()} saved.</Notice> : null}
        {unchanged ? <Notice>Nothing to save: the {unchanged.toUpperCase()} policy already has these values.</Notice> : null}
        {actionData && 'errors' in actionData ? <FormError message={Object.values(actionData.errors).join(' ')} /> : null}
      </section>
      {regions.map((r) => {
        const mine = actionData && 'region' in actionData && actionData.region === r.region ? actionData : null
        const review = mine ? mine.review : !actionData && loaderReview?.region === r.region ? loaderReview : null
        const v: Values = mine?.values ?? r
        const R = r.region.toUpperCase()
        return (
          <section className="card" key={r.region} aria-labelledby={`region-${r.region}`}>
            <h2 id={`region-${r.region}`}>Region {R}</h2>
            <p className="hint">
              Currently <strong>{r.mode}</strong>
              {r.mode === 'required' && r.requiredSince ? <>, required since <Time value={r.requiredSince} style="date" /></> : ''}. Last changed <Time value={r.updatedAt} />.
            </p>
            {mine?.error ? <FormError message={mine.error} /> : null}
            {review ? (
              <ReviewPanel region={r.region} review={review} stepUpFresh={stepUpFresh} busy={nav.state !== 'idle'} />
            ) : (
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
                  {POLICY_METHODS.map((m) => (
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
                      {DEADLINE_ACTIONS.map((a) => <option key={a} value={a}>{DEADLINE_LABELS[a]}</option>)}
                    </select>
                  </div>
                  <div className="field">
                    <label htmlFor={`remember-${r.region}`}>Remember device (days, 0–30)</label>
                    <input id={`remember-${r.region}`} name="rememberDeviceDays" type="number" min={0} max={30} required defaultValue={v.rememberDeviceDays} />
                  </div>
                </div>
                <div className="row">
                  <button type="submit" name="intent" value="preview" disabled={nav.state !== 'idle'}>Review changes</button>
                </div>
              </Form>
            )}
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
                  <td><Time value={run.createdAt} /></td>
                  <td>{run.region.toUpperCase()}</td>
                  <td>{run.kind === 'policy_required' ? 'Now required: deadlines' : 'Turned off'}</td>
                  <td>
                    <progress max={Math.max(run.total, 1)} value={run.done} aria-label={`Notification progress ${run.region}`} /> {run.done} / {run.total} ({RUN_STATE_LABELS[run.state]})
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

/** The reviewed change: old → new values, its impact and warnings; Save carries the review's token. */
function ReviewPanel({ region, review, stepUpFresh, busy }: { region: string; review: Review; stepUpFresh: boolean; busy: boolean }) {
  const R = region.toUpperCase()
  const { impact } = review
  return (
    <div>
      <h3>Review the change to {R}</h3>
      {review.changes.length ? (
        <table aria-label={`Changes to the ${R} policy`} style={{ marginBottom: '0.75rem' }}>
          <thead>
            <tr><th>Setting</th><th>Now</th><th>After saving</th></tr>
          </thead>
          <tbody>
            {review.changes.map((c) => (
              <tr key={c.field}>
                <th scope="row">{FIELD_LABELS[c.field]}</th>
                <td>{fieldValue(c.field, c.old)}</td>
                <td><strong>{fieldValue(c.field, c.new)}</strong></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div role="status" aria-live="polite">
        {review.changes.length ? null : <div className="banner info">Nothing to save: these are the current values.</div>}
        {impact.lowered.length ? (
          <div className="banner warn">
            <strong>Lowers protection for {impact.lowersProtectionFor.toLocaleString('en-US')} {impact.lowersProtectionFor === 1 ? 'member' : 'members'}</strong>
            {stepUpFresh ? '' : ' — saving asks for a fresh second factor first, then brings you back to this review'}:
            <ul aria-label={`What the change to ${R} lowers`}>{impact.lowered.map((l) => <li key={l}>{l}</li>)}</ul>
          </div>
        ) : null}
        <div className="banner info"><strong>Impact:</strong> {impact.summary}.</div>
        {impact.emailOnlyWarning ? (
          <div className="banner warn">Email code would be the only allowed factor, and password reset also goes by email: whoever controls a member's mailbox could take over the account. Consider allowing an authenticator app or a security key.</div>
        ) : null}
        {impact.becomesDisabled ? <div className="banner warn">Members affected by disabling will be emailed.</div> : null}
        {impact.becomesRequired ? <div className="banner info">Every affected member will be emailed their deadline.</div> : null}
      </div>
      <Form method="post">
        <input type="hidden" name="region" value={region} />
        <input type="hidden" name="mode" value={review.new.mode} />
        {review.new.allowedMethods.map((m) => <input key={m} type="hidden" name="allowedMethods" value={m} />)}
        <input type="hidden" name="gracePeriodDays" value={review.new.gracePeriodDays} />
        <input type="hidden" name="onDeadline" value={review.new.onDeadline} />
        <input type="hidden" name="rememberDeviceDays" value={review.new.rememberDeviceDays} />
        {review.token ? <input type="hidden" name="reviewToken" value={review.token} /> : null}
        <div className="row">
          {review.token ? <button type="submit" name="intent" value="save" disabled={busy}>Save {R} policy</button> : null}
          <button type="submit" name="intent" value="edit" className="secondary" disabled={busy}>Back to edit</button>
        </div>
      </Form>
    </div>
  )
}
