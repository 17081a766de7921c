import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { useState } from 'react'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpToResume } from '#app/http/resume.server.ts'
import { API_SCOPES, apiKeysForm } from '#app/orgs/api-keys.schema.ts'
import {
  SCOPE_LABELS,
  WRITE_SCOPES,
  issueApiKey,
  listApiKeys,
  listServiceAccounts,
  revokeApiKey,
} from '#app/orgs/api-keys.server.ts'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { describedBy, Field, FieldError, FormError, Notice, SelectField } from '#app/ui/form.tsx'
import { OrgNav } from '#app/ui/org-nav.tsx'
import { Time } from '#app/ui/time.tsx'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { ResumeChange } from '#app/ui/resume.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `API keys · ${data?.org.name ?? 'Organization'} · Gatehouse` }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, session } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [keys, accounts] = await Promise.all([listApiKeys(scope), listServiceAccounts(scope)])
  const url = new URL(request.url)
  const revoke = keys.find((k) => k.id === url.searchParams.get('revoke') && !k.revokedAt)
  // A key with a write scope carried back from step-up, ready to issue (decision 072).
  const resumed = readResumed(request, apiKeysForm)
  const resumedIssue = resumed?.data.intent === 'issue' ? { ...resumed, account: accounts.find((a) => a.id === (resumed.data as { serviceAccountId: string }).serviceAccountId) } : null
  return {
    org: { name: org.name, slug: org.slug },
    keys: keys.map((k) => ({
      ...k,
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    })),
    accounts,
    scopes: API_SCOPES.map((s) => ({
      value: s,
      label: SCOPE_LABELS[s],
      write: WRITE_SCOPES.includes(s),
    })),
    stepUpFresh: hasFreshSecondFactor(session),
    confirmRevoke: revoke ? { id: revoke.id, name: revoke.name, prefix: revoke.prefix } : null,
    notice: url.searchParams.get('notice'),
    resumed: resumedIssue?.account ? { intent: resumedIssue.intent, values: resumedIssue.values, account: resumedIssue.account.email } : null,
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const here = `/orgs/${org.slug}/api-keys`
  const form = await parseForm(request, apiKeysForm)
  if (!form.ok) return badRequest(form.errors)
  const meta = requestMeta(request, context)
  if (form.data.intent === 'revoke') {
    const keyId = form.data.keyId
    const row = await revokeApiKey({ scope, keyId, actor: user, meta })
    if (!row)
      return badRequest({
        form: 'That key does not exist or is already revoked.',
      })
    return redirectTo(`${here}?notice=revoked`)
  }
  const input = form.data
  try {
    const issued = await issueApiKey({
      org,
      scope,
      issuer: { user, session },
      serviceAccountId: input.serviceAccountId,
      name: input.name,
      scopes: input.scopes,
      meta,
    })
    return {
      issued: {
        key: issued.key,
        name: issued.apiKey.name,
        serviceAccount: issued.serviceAccount.email,
        scopes: issued.apiKey.scopes,
      },
    }
  } catch (e) {
    // Through the step-up page and back to this key, ready to issue (decision 072).
    stepUpToResume(e, here, 'issue', { serviceAccountId: input.serviceAccountId, name: input.name, scopes: input.scopes })
    return formError(e, { values: { name: input.name } })
  }
}

const NOTICES: Record<string, string> = {
  revoked: 'The key is revoked. Anything using it is refused from now on.',
}

function CopyableKey({ value }: { value: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <div className="field">
      <label htmlFor="new-key">New API key</label>
      <div className="row">
        <input id="new-key" readOnly value={value} size={60} onFocus={(e) => e.currentTarget.select()} />
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true))
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  )
}

export default function ApiKeys() {
  const { org, keys, accounts, scopes, stepUpFresh, confirmRevoke, notice, resumed } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const issued = actionData && 'issued' in actionData ? actionData.issued : null
  const errors = (actionData && 'errors' in actionData ? actionData.errors : {}) as Record<string, string>
  const values = (actionData && 'values' in actionData ? actionData.values : {}) as Record<string, string>
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>API keys</h1>
        <p className="muted">
          Keys let a service account of {org.name} call the Gatehouse API with the scopes you choose. A key is shown once; Gatehouse keeps only a hash of it.
        </p>
        {notice && NOTICES[notice] ? <Notice>{NOTICES[notice]}</Notice> : null}
        {issued ? (
          <div className="banner warn" role="status">
            <p>
              <strong>Copy this key now: it will not be shown again.</strong> Key “{issued.name}” for {issued.serviceAccount} ({issued.scopes.join(', ')}).
            </p>
            <CopyableKey value={issued.key} />
          </div>
        ) : null}
        {confirmRevoke ? (
          <ConfirmAction
            title={`Revoke “${confirmRevoke.name}” (${confirmRevoke.prefix}…)?`}
            fields={{ intent: 'revoke', keyId: confirmRevoke.id }}
            confirmLabel="Revoke key"
            busyLabel="Revoking…"
            cancelTo="."
          >
            Scripts using it are refused at once. This cannot be undone.
          </ConfirmAction>
        ) : null}
        {resumed && !issued ? (
          <ResumeChange resumed={resumed} label="Issue key" busyLabel="Issuing…" cancelTo=".">
            Issue the key “{String(resumed.values.name)}” for {resumed.account} with {[resumed.values.scopes].flat().join(', ')}.
          </ResumeChange>
        ) : null}
        <FormError message={errors.form ?? errors.keyId} />
        {keys.length === 0 ? (
          <p>No keys yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Service account</th>
                <th>Scopes</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Status</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.serviceAccount.email}</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td><Time value={k.createdAt} /></td>
                  <td><Time value={k.lastUsedAt} empty="Never" /></td>
                  <td>{k.revokedAt ? <span className="badge bad">Revoked</span> : <span className="badge ok">Active</span>}</td>
                  <td>{k.revokedAt ? null : <Link to={`?revoke=${k.id}#confirm`}>Revoke…</Link>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card">
        <h2>Issue a key</h2>
        {accounts.length === 0 ? (
          <p>{org.name} has no service accounts. Keys can only be issued to a service account of this organization.</p>
        ) : (
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="issue" />
            <SelectField label="Service account" name="serviceAccountId" error={errors.serviceAccountId}>
              {accounts.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.email})
                </option>
              ))}
            </SelectField>
            <Field
              label="Name"
              name="name"
              defaultValue={values.name}
              error={errors.name}
              hint="What the key is for, e.g. “CI policy sync”."
              maxLength={100}
              required
            />
            <fieldset className="field" {...describedBy('scopes', errors.scopes)}>
              <legend>Scopes</legend>
              {scopes.map((s) => (
                <label key={s.value} className="row">
                  <input type="checkbox" name="scopes" value={s.value} />
                  <span>
                    <code>{s.value}</code> — {s.label}
                    {s.write && !stepUpFresh ? ' (you will be asked to confirm it is you)' : ''}
                  </span>
                </label>
              ))}
              <FieldError id="scopes" error={errors.scopes} />
            </fieldset>
            <SubmitButton busyLabel="Issuing…" match={{ intent: 'issue' }}>
              Issue key
            </SubmitButton>
          </Form>
        )}
      </section>
    </>
  )
}
