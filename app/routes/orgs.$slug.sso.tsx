import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpLocation, stepUpToResume } from '#app/http/resume.server.ts'
import { roleAtLeast } from '#app/orgs/scope.server.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { idpTrustImpact, saveSsoConfig, setIdpTrust, ssoView, verifySsoDomain } from '#app/sso/config.server.ts'
import { callbackUrl } from '#app/sso/oidc.server.ts'
import { ssoPageForm } from '#app/sso/sso.schema.ts'
import { Field, FormError, Notice, SelectField } from '#app/ui/form.tsx'
import { OrgNav } from '#app/ui/org-nav.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Single sign-on · ${data?.org.name ?? 'Organization'} · Gatehouse` }]

const FIELDS = ['issuer', 'clientId', 'clientSecret', 'domains', 'region', 'emailClaim', 'nameClaim', 'ssoRequired'] as const

/**
 * Owners and admins see the settings; only an owner changes them, and the form (it holds the
 * client secret) is shown only to a session with a fresh second factor: step-up comes before the
 * form (decisions 072 and 080).
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, session, membership } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [view, regions] = await Promise.all([ssoView(org.id), listOrgRegions(scope)])
  const here = `/orgs/${org.slug}/sso`
  const isOwner = roleAtLeast(membership.role, 'owner')
  const fresh = hasFreshSecondFactor(session)
  // Values carried through step-up (never the secret): the form comes back filled in.
  const resumed = isOwner && fresh ? readResumed(request, ssoPageForm) : null
  // Before trust is turned on: how many members it would let in on the provider's word (the review).
  const affected = Object.fromEntries(await Promise.all(view.trust.map(async (t) => [t.region, await idpTrustImpact(org.id, t.region)] as const)))
  return {
    org: { name: org.name, slug: org.slug },
    view,
    regions: regions.map((r) => r.region),
    callbackUrl: callbackUrl(),
    isOwner,
    editable: isOwner && fresh,
    stepUp: isOwner && !fresh ? stepUpLocation(here) : null,
    resumedValues: resumed?.intent === 'save' ? resumed.values : null,
    notice: new URL(request.url).searchParams.get('notice'),
    affected,
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, user, session } = await requireOrgChange(request, params.slug ?? '', 'owner', context)
  const here = `/orgs/${org.slug}/sso`
  const form = await parseForm(request, ssoPageForm)
  if (!form.ok) return badRequest(form.errors)
  const change = { orgId: org.id, actor: { id: user.id, label: user.email }, authority: sessionAuthority(session), meta: requestMeta(request, context) }
  if (form.data.intent === 'trust') {
    const trust = form.data
    try {
      const result = await setIdpTrust(change, trust)
      if (!result) return badRequest({ form: 'The organization does not operate in that region.' })
      return redirectTo(`${here}?notice=${result.changed ? 'trust-saved' : 'unchanged'}`)
    } catch (e) {
      // Through step-up and back to the page: the trust form is shown again with its stored values.
      stepUpToResume(e, here, 'trust', { region: trust.region })
      return formError(e, { formKey: 'form' })
    }
  }
  if (form.data.intent === 'verify') {
    const { domain } = form.data
    try {
      const result = await verifySsoDomain(change, domain)
      return redirectTo(`${here}?notice=${result.alreadyVerified ? 'unchanged' : 'domain-verified'}#domains`)
    } catch (e) {
      // Through step-up and back to the page; the owner presses Verify again.
      stepUpToResume(e, here, 'verify', { domain })
      return formError(e, { fields: [], formKey: 'verify' })
    }
  }
  const input = form.data
  const values = { issuer: input.issuer, clientId: input.clientId, domains: input.domains.join(', '), region: input.region, emailClaim: input.emailClaim, nameClaim: input.nameClaim, ssoRequired: input.ssoRequired ? 'on' : '' }
  try {
    await saveSsoConfig(change, input)
  } catch (e) {
    // Through step-up and back to the form filled in; the secret is typed again (it is never carried).
    stepUpToResume(e, here, 'save', values)
    return formError(e, { fields: FIELDS, values })
  }
  return redirectTo(`${here}?notice=saved`)
}

const NOTICES: Record<string, string> = {
  saved: 'Single sign-on settings saved. The provider’s discovery document was read successfully.',
  'trust-saved': 'Trust in the provider’s MFA saved.',
  unchanged: 'Nothing changed.',
  'domain-verified': 'Domain verified: its addresses now sign in through single sign-on.',
}

function affectsLine(n: number, region: string, trusted: boolean) {
  const members = `${n.toLocaleString('en')} member${n === 1 ? '' : 's'} in ${region.toUpperCase()}`
  return trusted
    ? `Applies to ${members}: they are not asked Gatehouse’s second factor when the provider says it asked one.`
    : `Turning it on lowers protection for ${members}: they would not be asked Gatehouse’s second factor when the provider says it asked one.`
}

export default function SsoSettings() {
  const d = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const errors = (actionData && 'errors' in actionData ? actionData.errors : {}) as Record<string, string>
  const echoed = (actionData && 'values' in actionData ? actionData.values : null) as Record<string, string> | null
  const v = d.view
  const initial: Record<string, string> = echoed && Object.keys(echoed).length
    ? echoed
    : d.resumedValues
      ? Object.fromEntries(Object.entries(d.resumedValues).map(([k, x]) => [k, Array.isArray(x) ? x.join(', ') : x]))
      : { issuer: v.issuer ?? '', clientId: v.clientId ?? '', domains: v.domains.join(', '), region: v.region ?? d.regions[0] ?? '', emailClaim: v.emailClaim, nameClaim: v.nameClaim, ssoRequired: v.ssoRequired ? 'on' : '' }
  const fieldErrors = new Set<string>(FIELDS)
  const formMessage = errors.form ?? Object.entries(errors).find(([k]) => !fieldErrors.has(k) && k !== 'verify')?.[1]
  return (
    <>
      <OrgNav slug={d.org.slug} name={d.org.name} />
      <section className="card" id="settings">
        <h1>Single sign-on</h1>
        <p className="muted">
          Members whose email address is in one of {d.org.name}’s domains can sign in through your OpenID Connect identity provider. Register Gatehouse there with the
          redirect URI <code>{d.callbackUrl}</code>.
        </p>
        {d.notice && NOTICES[d.notice] ? (
          <Notice>
            {NOTICES[d.notice]}
          </Notice>
        ) : null}
        <FormError message={formMessage} />
        {d.editable ? (
          <Form key={JSON.stringify(v)} method="post" noValidate aria-label="Single sign-on settings">
            <input type="hidden" name="intent" value="save" />
            <Field label="Issuer URL" name="issuer" type="url" defaultValue={initial.issuer} error={errors.issuer} required hint="Gatehouse reads its discovery document (/.well-known/openid-configuration) when you save." />
            <Field label="Client id" name="clientId" defaultValue={initial.clientId} error={errors.clientId} required autoComplete="off" />
            <Field
              label="Client secret"
              name="clientSecret"
              type="password"
              autoComplete="new-password"
              defaultValue=""
              error={errors.clientSecret}
              placeholder={v.clientSecretSet ? '•••••••• (set)' : ''}
              hint={v.clientSecretSet ? 'A secret is set. It is never shown; type a new one only to replace it.' : 'Stored encrypted; never shown again.'}
            />
            <Field label="Email domains" name="domains" defaultValue={initial.domains} error={errors.domains} required hint="Separated by spaces or commas, e.g. acme.com, acme.co.uk. A new domain is used for sign-in once its DNS TXT record is verified below; a verified domain belongs to one organization only." />
            <SelectField label="Region for new members" name="region" defaultValue={initial.region} error={errors.region} hint="A first sign-in through SSO creates the account in this region.">
              {d.regions.map((r) => (
                <option key={r} value={r}>{r.toUpperCase()}</option>
              ))}
            </SelectField>
            <fieldset>
              <legend>Claim mapping</legend>
              <Field label="Email claim" name="emailClaim" defaultValue={initial.emailClaim} error={errors.emailClaim} />
              <Field label="Name claim" name="nameClaim" defaultValue={initial.nameClaim} error={errors.nameClaim} />
            </fieldset>
            <div className="field">
              <label>
                <input type="checkbox" name="ssoRequired" defaultChecked={initial.ssoRequired === 'on'} aria-describedby="ssoRequired-hint" /> SSO required for members with these domains
              </label>
              <div className="hint" id="ssoRequired-hint">
                They cannot sign in with a password or reset one. Owners with their own app or security key keep a break-glass password sign-in.
              </div>
            </div>
            <SubmitButton busyLabel="Checking the provider…" match={{ intent: 'save' }}>Save single sign-on</SubmitButton>
          </Form>
        ) : (
          <>
            {v.configured ? (
              <dl className="summary">
                <dt>Issuer</dt>
                <dd><code>{v.issuer}</code></dd>
                <dt>Client id</dt>
                <dd><code>{v.clientId}</code></dd>
                <dt>Client secret</dt>
                <dd>{v.clientSecretSet ? 'Set (never shown)' : 'Not set'}</dd>
                <dt>Email domains</dt>
                <dd>{v.domainStates.map((x) => `${x.domain} (${x.state})`).join(', ')}</dd>
                <dt>Region for new members</dt>
                <dd>{v.region?.toUpperCase()}</dd>
                <dt>Claims</dt>
                <dd>email: <code>{v.emailClaim}</code>, name: <code>{v.nameClaim}</code></dd>
                <dt>SSO required</dt>
                <dd>{v.ssoRequired ? 'Yes: members with these domains sign in through SSO only' : 'No: SSO is offered, passwords still work'}</dd>
              </dl>
            ) : (
              <p>Single sign-on is not set up.</p>
            )}
            {d.stepUp ? (
              <p>
                <a href={d.stepUp} className="button">{v.configured ? 'Change settings…' : 'Set up single sign-on…'}</a>{' '}
                <span className="hint">You confirm it’s you with your second factor first.</span>
              </p>
            ) : !d.isOwner ? (
              <p className="hint">Only an owner can change single sign-on.</p>
            ) : null}
          </>
        )}
      </section>
      {v.domainStates.length ? (
        <section className="card" id="domains">
          <h2>Domain verification</h2>
          <p className="muted">
            A domain routes sign-in to your provider, and lets it create or link accounts, only once you prove you own it: publish the TXT record below in the domain’s DNS,
            then press Verify. A domain verified by another organization cannot be added here.
          </p>
          <FormError message={errors.verify} />
          <table>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">State</th>
                <th scope="col">TXT record to publish</th>
                <th scope="col">Proof</th>
              </tr>
            </thead>
            <tbody>
              {v.domainStates.map((x) => (
                <tr key={x.domain}>
                  <td>{x.domain}</td>
                  <td>{x.state === 'verified' ? 'Verified' : 'Not verified: not used for sign-in yet'}</td>
                  <td>
                    <code>{x.txtName}</code> TXT <code>{x.txtValue}</code>
                  </td>
                  <td>
                    {x.state === 'unverified' && d.isOwner ? (
                      <Form method="post" aria-label={`Verify ${x.domain}`}>
                        <input type="hidden" name="intent" value="verify" />
                        <input type="hidden" name="domain" value={x.domain} />
                        <SubmitButton busyLabel="Looking up DNS…" match={{ intent: 'verify', domain: x.domain }}>Verify {x.domain}</SubmitButton>
                      </Form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="hint">Also with <code>gatehouse sso verify-domain DOMAIN</code> or the API (POST /api/organizations/{'{orgId}'}/sso/domains/{'{domain}'}/verify).</p>
        </section>
      ) : null}
      {v.trust.length ? (
        <section className="card">
          <h2>Trusting the provider’s MFA</h2>
          <p className="muted">
            When a region trusts it, a member whose ID token says the provider asked a second factor (an <code>amr</code> value or an <code>acr</code> value listed here) is
            not asked Gatehouse’s own. Turning it on, or trusting more values, lowers protection.
          </p>
          {v.trust.map((t) =>
            d.editable ? (
              <Form key={JSON.stringify(t)} method="post" className="card" aria-label={`Trust in ${t.region.toUpperCase()}`}>
                <input type="hidden" name="intent" value="trust" />
                <input type="hidden" name="region" value={t.region} />
                <h3>{t.region.toUpperCase()}</h3>
                <div className="field">
                  <label>
                    <input type="checkbox" name="trustIdpMfa" defaultChecked={t.trustIdpMfa} /> Trust the identity provider’s MFA in {t.region.toUpperCase()}
                  </label>
                </div>
                <Field label="amr values that count" name="idpMfaAmr" id={`amr-${t.region}`} defaultValue={t.idpMfaAmr.join(', ')} />
                <Field label="acr values that count" name="idpMfaAcr" id={`acr-${t.region}`} defaultValue={t.idpMfaAcr.join(', ')} hint="Optional, separated by spaces or commas." />
                <p className="hint">{affectsLine(d.affected[t.region] ?? 0, t.region, t.trustIdpMfa)}</p>
                <SubmitButton busyLabel="Saving…" match={{ intent: 'trust', region: t.region }}>Save trust for {t.region.toUpperCase()}</SubmitButton>
              </Form>
            ) : (
              <p key={t.region}>
                {t.region.toUpperCase()}: {t.trustIdpMfa ? `trusted when amr has ${t.idpMfaAmr.join(', ')}${t.idpMfaAcr.length ? ` or acr is ${t.idpMfaAcr.join(', ')}` : ''}` : 'not trusted: Gatehouse asks its own second factor'}
              </p>
            ),
          )}
          <p className="hint">Also with <code>gatehouse sso set --trust-region R --trust</code> or the API (PUT /api/organizations/{'{orgId}'}/sso/trust/{'{region}'}).</p>
        </section>
      ) : null}
    </>
  )
}
