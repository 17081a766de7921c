import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { useState } from 'react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { webauthnResponse } from '#app/mfa/factor-form.server.ts'
import { enrollKey, enrollmentClosed } from '#app/mfa/enrollment.server.ts'
import { listFactors, removalRefusal, removeKey } from '#app/mfa/factors.server.ts'
import { requireStepUp, upgradeEnrollOnlySession } from '#app/sign-in/web.server.ts'
import { KEY_LABEL_MAX, webauthnRegistrationOptions } from '#app/mfa/webauthn.server.ts'
import { KEY_KIND_LABELS, keyKindSchema, type KeyKind } from '#app/mfa/methods.schema.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { RecoveryCodesPanel } from '#app/ui/recovery-codes.tsx'
import { WebAuthnButton } from '#app/ui/webauthn.tsx'

export const meta: MetaFunction = () => [{ title: 'Security keys · Gatehouse' }]

const label = z.string().trim().min(1, 'Name the key, e.g. "YubiKey 5"').max(KEY_LABEL_MAX, `Use at most ${KEY_LABEL_MAX} characters`)
const schema = z.discriminatedUnion('intent', [
  // What the member sets up (decision 069): a passkey signs in without a password; a security key is a second step.
  z.object({ intent: z.literal('webauthn_options'), label, kind: keyKindSchema.default('security_key') }),
  z.object({
    intent: z.literal('webauthn'),
    label,
    challengeId: z.string().uuid('This security key request has expired. Try again.'),
    response: webauthnResponse,
  }),
  z.object({ intent: z.literal('remove'), keyId: z.string().uuid('Unknown key') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const { user } = await requireUser(request)
  const { keys } = await listFactors(user.id)
  return { keys: keys.map((k) => ({ id: k.id, label: k.label, kind: k.kind ?? 'security_key', createdAt: k.createdAt.toISOString(), lastUsedAt: k.lastUsedAt?.toISOString() ?? null })), closed: await enrollmentClosed(user.id, 'webauthn') }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent !== 'remove') {
    // Under a disabled policy (or one without keys) no new key is registered; listing and removing still work.
    const closed = await enrollmentClosed(user.id, 'webauthn')
    if (closed) return data({ errors: { form: closed } }, { status: 403 })
  }
  if (form.data.intent === 'remove') {
    // Said before step-up, so the member does not confirm for a change that will be refused.
    const refused = await removalRefusal(user.id, { kind: 'key', keyId: form.data.keyId })
    if (refused) return data({ errors: { form: refused } }, { status: 409 })
  }
  // Adding a key when the member already has a factor, and removing one, need step-up.
  await requireStepUp(user.id, session, '/settings/security/keys')
  if (form.data.intent === 'remove') {
    const removed = await removeKey(user, form.data.keyId, meta, session.id)
    if (!removed.ok) return data({ errors: { form: removed.message } }, { status: removed.code === 'not_found' ? 404 : 409 })
    return { removed: true }
  }
  if (form.data.intent === 'webauthn_options') {
    const { challengeId, options } = await webauthnRegistrationOptions(user, `session:${session.id}`, form.data.kind)
    return { webauthnOptions: options, challengeId }
  }
  const result = await enrollKey(user, { challengeId: form.data.challengeId, target: `session:${session.id}`, response: form.data.response, label: form.data.label }, meta, session.id)
  if (!result.ok) return data({ errors: { form: result.message } }, { status: 400 })
  const cookie = await upgradeEnrollOnlySession(session, user.id, 'webauthn', meta)
  const headers = cookie ? { 'Set-Cookie': cookie } : undefined
  const done = session.level === 'enroll_only' ? '/' : '/settings/security/keys'
  if (!result.recoveryCodes) {
    if (cookie) throw redirectTo('/', headers)
    return { added: result.label, addedKind: result.kind }
  }
  return data({ recoveryCodes: result.recoveryCodes, added: result.label, addedKind: result.kind, done }, { headers })
}

export default function Keys() {
  const { keys, closed } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; recoveryCodes?: string[]; added?: string; addedKind?: KeyKind; removed?: boolean; done?: string } | undefined
  const [name, setName] = useState('')
  const [kind, setKind] = useState<KeyKind>('security_key')
  const errors = result?.errors ?? {}
  return (
    <>
      {result?.recoveryCodes ? <RecoveryCodesPanel codes={result.recoveryCodes} doneHref={result.done} /> : null}
      <section className="card">
        <h1>Security keys and passkeys</h1>
        <p className="muted">Adding or removing a key signs you out everywhere else (every other browser and API session token).</p>
        {result?.added ? <Notice>{result.addedKind === 'passkey' ? 'Passkey' : 'Security key'} “{result.added}” added.</Notice> : null}
        {result?.removed ? <Notice>Security key removed.</Notice> : null}
        <FormError message={errors.form} />
        {keys.length === 0 ? <p className="muted">No security keys yet.</p> : (
          <table>
            <thead><tr><th>Name</th><th>Kind</th><th>Added</th><th>Last used</th><th /></tr></thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.label}</td>
                  <td>{KEY_KIND_LABELS[k.kind as KeyKind] ?? k.kind}</td>
                  <td>{new Date(k.createdAt).toUTCString()}</td>
                  <td>{k.lastUsedAt ? new Date(k.lastUsedAt).toUTCString() : 'never'}</td>
                  <td>
                    <Form method="post">
                      <input type="hidden" name="intent" value="remove" />
                      <input type="hidden" name="keyId" value={k.id} />
                      <button type="submit" className="secondary" aria-label={`Remove ${k.label}`}>Remove</button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {closed ? (
        <section className="card narrow">
          <h2>Add a security key</h2>
          <p className="banner" role="status">{closed}</p>
        </section>
      ) : <section className="card narrow">
        <h2>Add a security key</h2>
        <fieldset className="field">
          <legend>What are you adding?</legend>
          <label>
            <input type="radio" name="kind" value="passkey" checked={kind === 'passkey'} onChange={() => setKind('passkey')} />{' '}
            Passkey on this device (sign in without a password)
          </label>
          <label>
            <input type="radio" name="kind" value="security_key" checked={kind === 'security_key'} onChange={() => setKind('security_key')} />{' '}
            Security key as a second step
          </label>
          <div className="hint">
            {kind === 'passkey'
              ? 'Your device keeps the passkey and asks for your PIN, fingerprint or face each time; it then signs you in on its own, no password needed.'
              : 'You sign in with your password, then touch the key.'}
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="label">Key name</label>
          <input id="label" name="label" value={name} onChange={(e) => setName(e.target.value)} maxLength={60} placeholder={kind === 'passkey' ? 'My laptop' : 'YubiKey 5'} />
          {errors.label ? <div className="error">{errors.label}</div> : null}
        </div>
        <WebAuthnButton mode="register" label={kind === 'passkey' ? 'Add passkey' : 'Add security key'} fields={{ label: name, kind }} validate={() => (name.trim() ? null : 'Name the key, e.g. "YubiKey 5"')} />
      </section>}
    </>
  )
}
