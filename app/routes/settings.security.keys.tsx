import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { useState } from 'react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { webauthnResponse } from '#app/mfa/factor-form.server.ts'
import { enrollKey, enrollmentClosed } from '#app/mfa/enrollment.server.ts'
import { listFactors, removalRefusal, removeKey, renameKey } from '#app/mfa/factors.server.ts'
import { requireStepUp, upgradeEnrollOnlySession } from '#app/sign-in/web.server.ts'
import { webauthnRegistrationOptions } from '#app/mfa/webauthn.server.ts'
import { Field, FormError, Notice } from '#app/ui/form.tsx'
import { readResumed } from '#app/http/resume.server.ts'
import { listMemberSessions } from '#app/auth/member-sessions.server.ts'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { ResumeChange } from '#app/ui/resume.tsx'
import { RemovalEffect } from '#app/ui/factor-removal.tsx'
import { KEY_LABEL_MAX, type KeyKind, keyKindSchema, keyLabel } from '#app/mfa/methods.schema.ts'
import { RecoveryCodesPanel } from '#app/ui/recovery-codes.tsx'
import { WebAuthnButton } from '#app/ui/webauthn.tsx'
import { Time } from '#app/ui/time.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'
import { KeyTestButton } from '#app/ui/key-test.tsx'
import { finishKeyTest, startKeyTest } from '#app/mfa/key-test.server.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'keys.title') }]
export const handle = { i18n: 'pages' }

const label = keyLabel
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
  z.object({ intent: z.literal('rename'), keyId: z.string().uuid('Unknown key'), label }),
  // "Test this key" (decision 071): app/mfa/key-test.server.ts, app/ui/key-test.tsx.
  z.object({ intent: z.literal('test_key_options'), keyId: z.string().uuid('Unknown key') }),
  z.object({ intent: z.literal('test_key'), keyId: z.string().uuid('Unknown key'), challengeId: z.string().uuid('This test has expired. Try again.'), response: webauthnResponse }),
])
const nameProblem = (name: string) => {
  const parsed = label.safeParse(name)
  return parsed.success ? null : parsed.error.issues[0].message
}

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const { keys, totp } = await listFactors(user.id)
  // Removing a key: confirmed first (?remove=), or carried back from step-up (?resume=), decision 072.
  const resumed = readResumed(request, schema)
  const removing = keys.find((k) => k.id === (resumed?.data.intent === 'remove' ? resumed.data.keyId : new URL(request.url).searchParams.get('remove')))
  const removal = removing
    ? { id: removing.id, label: removing.label, resumed: resumed?.data.intent === 'remove', lastFactor: keys.length === 1 && !totp, otherSessions: (await listMemberSessions(user.id, session.id)).filter((x) => !x.current).length }
    : null
  return { keys: keys.map((k) => ({ id: k.id, label: k.label, kind: k.kind ?? 'security_key', createdAt: k.createdAt.toISOString(), lastUsedAt: k.lastUsedAt?.toISOString() ?? null })), closed: await enrollmentClosed(user.id, 'webauthn'), removal }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const copy = request.clone()
  const form = await parseForm(request, schema)
  // A rename's errors go back with its key, so that they show on that row.
  if (!form.ok) return data({ errors: form.errors, keyId: String((await copy.formData().catch(() => null))?.get('keyId') ?? '') || null }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent === 'rename') {
    const renamed = await renameKey(user, form.data.keyId, form.data.label, meta)
    if (!renamed.ok) return data({ errors: { form: renamed.message } }, { status: 404 })
    return { renamed: renamed.label }
  }
  // Testing a key changes no factor: no step-up, and allowed whatever the policy.
  if (form.data.intent === 'test_key_options') {
    const started = await startKeyTest(user, session, form.data.keyId)
    return started.ok ? { webauthnOptions: started.options, challengeId: started.challengeId } : data({ errors: { form: started.message } }, { status: 404 })
  }
  if (form.data.intent === 'test_key') {
    const tested = await finishKeyTest(user, session, form.data, meta)
    return data({ keyTest: tested.ok ? { ok: true, message: `It worked: “${tested.label}” answered.` } : { ok: false, message: tested.message } }, { status: tested.ok ? 200 : 400 })
  }
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
  await requireStepUp(user.id, session, '/settings/security/keys', form.data.intent === 'remove' ? { intent: 'remove', values: { keyId: form.data.keyId } } : undefined)
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
  return data({ recoveryCodes: result.recoveryCodes, account: user.email, issuedAt: new Date().toISOString(), added: result.label, addedKind: result.kind, done }, { headers })
}

export default function Keys() {
  const { keys, closed, removal } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; keyId?: string | null; recoveryCodes?: string[]; account?: string; issuedAt?: string; added?: string; addedKind?: KeyKind; removed?: boolean; renamed?: string; done?: string } | undefined
  const [name, setName] = useState('')
  const [nameError, setNameError] = useState<string | null>(null)
  const [kind, setKind] = useState<KeyKind>('security_key')
  const { t } = useTranslation()
  const errors = result?.errors ?? {}
  // A rename's field errors belong to that key's row; the add form's to the add form.
  const renameErrors = result?.keyId ? errors : {}
  const addErrors = result?.keyId ? {} : errors
  return (
    <>
      {result?.recoveryCodes ? <RecoveryCodesPanel codes={result.recoveryCodes} account={result.account ?? ''} issuedAt={result.issuedAt ?? ''} doneHref={result.done} /> : null}
      <section className="card">
        <h1>{t('security.keys')}</h1>
        <p className="muted">{t('keys.signsOut')}</p>
        {result?.added ? <Notice>{result.addedKind === 'passkey' ? t('keys.addedPasskey', { label: result.added }) : t('keys.addedKey', { label: result.added })}</Notice> : null}
        {result?.removed ? <Notice>{t('keys.removed')}</Notice> : null}
        {result?.renamed ? <Notice>{t('keys.renamed', { label: result.renamed })}</Notice> : null}
        <FormError message={errors.form} />
        {removal && !removal.resumed && !result?.removed ? (
          <ConfirmAction title={t('keys.removeTitle', { label: removal.label })} fields={{ intent: 'remove', keyId: removal.id }} confirmLabel={t('keys.removeKey')} busyLabel={t('keys.removing')} cancelTo="/settings/security/keys">
            <RemovalEffect what={t('keys.removalWhat')} lastFactor={removal.lastFactor} otherSessions={removal.otherSessions} />
          </ConfirmAction>
        ) : null}
        {keys.length === 0 ? <p className="muted">{t('keys.none')}</p> : (
          <table>
            <thead><tr><th>{t('keys.name')}</th><th>{t('keys.kind')}</th><th>{t('keys.added')}</th><th>{t('keys.lastUsed')}</th><th /><th /></tr></thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.label}</td>
                  <td>{k.kind === 'passkey' ? t('keys.kinds.passkey') : k.kind === 'security_key' ? t('keys.kinds.security_key') : k.kind}</td>
                  <td><Time value={k.createdAt} /></td>
                  <td><Time value={k.lastUsedAt} empty={t('security.never')} /></td>
                  <td>
                    <details className="rename" open={renameErrors.label && result?.keyId === k.id ? true : undefined}>
                      <summary>{t('keys.rename')}</summary>
                      <Form method="post" noValidate aria-label={t('keys.renameLabel', { label: k.label })}>
                        <input type="hidden" name="intent" value="rename" />
                        <input type="hidden" name="keyId" value={k.id} />
                        <Field label={t('keys.newName')} name="label" id={`rename-${k.id}`} defaultValue={k.label} maxLength={KEY_LABEL_MAX} required error={result?.keyId === k.id ? renameErrors.label : undefined} />
                        <button type="submit" className="secondary">{t('keys.saveName')}</button>
                      </Form>
                    </details>
                  </td>
                  <td>
                    <KeyTestButton keyId={k.id} label={k.label} />
                    <Link to={`?remove=${k.id}#confirm`} aria-label={t('keys.removeLabel', { label: k.label })}>{t('keys.removeLink')}</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {removal?.resumed && !result?.removed ? (
        <ResumeChange resumed={{ intent: 'remove', values: { keyId: removal.id } }} label={t('keys.removeKey')} busyLabel={t('keys.removing')} cancelTo="/settings/security/keys">
          {t('keys.resume', { label: removal.label })}<RemovalEffect what={t('keys.removalWhat')} lastFactor={removal.lastFactor} otherSessions={removal.otherSessions} />
        </ResumeChange>
      ) : null}
      {closed ? (
        <section className="card narrow">
          <h2>{t('keys.add')}</h2>
          <p className="banner" role="status">{translateMessage(t, closed)}</p>
        </section>
      ) : <section className="card narrow">
        <h2>{t('keys.add')}</h2>
        {/* A form, so that Enter in the name field adds the key (the button runs the ceremony, decision 073). */}
        <form noValidate onSubmit={(e) => e.preventDefault()} aria-label={t('keys.addLabel')}>
          <fieldset className="field">
            <legend>{t('keys.what')}</legend>
            <label>
              <input type="radio" name="kind" value="passkey" checked={kind === 'passkey'} onChange={() => setKind('passkey')} />{' '}
              {t('keys.passkeyOption')}
            </label>
            <label>
              <input type="radio" name="kind" value="security_key" checked={kind === 'security_key'} onChange={() => setKind('security_key')} />{' '}
              {t('keys.keyOption')}
            </label>
            <div className="hint">
              {kind === 'passkey'
                ? t('keys.passkeyHint')
                : t('keys.keyHint')}
            </div>
          </fieldset>
          <Field label={t('keys.keyName')} name="label" value={name} onChange={(e) => setName(e.target.value)} maxLength={KEY_LABEL_MAX} placeholder={kind === 'passkey' ? t('keys.myLaptop') : 'YubiKey 5'} error={nameError ?? addErrors.label} />
          <WebAuthnButton mode="register" label={kind === 'passkey' ? t('keys.addPasskey') : t('keys.addKey')} submitsForm fields={{ label: name, kind }} validate={() => nameProblem(name)} onProblem={setNameError} />
        </form>
      </section>}
    </>
  )
}

