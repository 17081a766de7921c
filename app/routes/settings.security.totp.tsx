import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { enrollmentClosed, enrollTotp } from '#app/mfa/enrollment.server.ts'
import { listFactors, removalRefusal, removeTotp } from '#app/mfa/factors.server.ts'
import { requireStepUp, upgradeEnrollOnlySession } from '#app/sign-in/web.server.ts'
import { beginTotpSetup, getTotp, pendingTotpSetup } from '#app/mfa/totp.server.ts'
import { cancelTotpReplacement, replaceTotp, startTotpReplacement } from '#app/mfa/totp-replacement.server.ts'
import { CodeField, FormError } from '#app/ui/form.tsx'
import { RecoveryCodesPanel } from '#app/ui/recovery-codes.tsx'
import { CopyButton } from '#app/ui/copy-button.tsx'
import { groupsOfFour } from '#app/ui/secret-format.ts'
import { Time } from '#app/ui/time.tsx'
import { readResumed } from '#app/http/resume.server.ts'
import { listMemberSessions } from '#app/auth/member-sessions.server.ts'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { RemovalEffect } from '#app/ui/factor-removal.tsx'
import { ResumeChange } from '#app/ui/resume.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'methods.totp') }]
export const handle = { i18n: 'pages' }

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('confirm'), code: z.string().trim().min(1, 'Enter the 6-digit code from your app').max(12, 'That code is too long') }),
  z.object({ intent: z.literal('remove') }),
  z.object({ intent: z.literal('replace_confirm'), code: z.string().trim().min(1, 'Enter the 6-digit code from your new app').max(12, 'That code is too long') }),
  z.object({ intent: z.literal('replace_cancel') }),
])

const REPLACE_PATH = '/settings/security/totp?replace=1'

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const enabled = await getTotp(user.id)
  if (enabled) {
    const url = new URL(request.url)
    // Removing the app: confirmed first (?remove=1), or carried back from step-up (?resume=), decision 072.
    const resumed = readResumed(request, schema)?.intent === 'remove'
    const removal = resumed || url.searchParams.has('remove')
      ? { resumed, lastFactor: (await listFactors(user.id)).keys.length === 0, otherSessions: (await listMemberSessions(user.id, session.id)).filter((x) => !x.current).length }
      : null
    const view = { since: enabled.confirmedAt!.toISOString(), lastUsedAt: enabled.lastUsedAt?.toISOString() ?? null, replaced: url.searchParams.has('replaced'), removal }
    const replaceClosed = await enrollmentClosed(user.id, 'totp')
    if (!url.searchParams.has('replace') || replaceClosed) return { enabled: { ...view, replaceClosed }, setup: null, closed: null, replacement: null }
    // Replacing: a fresh second factor first (as for any other change here), then the new secret.
    await requireStepUp(user.id, session, REPLACE_PATH)
    const started = await startTotpReplacement(user)
    if (!started.ok) return { enabled: { ...view, replaceClosed: started.message }, setup: null, closed: null, replacement: null }
    const replacement = { secret: started.secret, qrDataUrl: started.qrDataUrl, issuer: started.issuer, account: user.email, expiresAt: started.expiresAt.toISOString() }
    return { enabled: { ...view, replaceClosed: null }, setup: null, closed: null, replacement }
  }
  // Under a disabled policy, or one that does not allow an app, no set-up is offered (no secret is made).
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return { enabled: null, setup: null, closed, replacement: null }
  // Adding a factor when the member already has one needs step-up.
  await requireStepUp(user.id, session, '/settings/security/totp')
  const setup = (await pendingTotpSetup(user)) ?? (await beginTotpSetup(user))
  if (!('secret' in setup)) throw redirectTo('/settings/security/totp')
  return { enabled: null, setup: { secret: setup.secret, qrDataUrl: setup.qrDataUrl, issuer: setup.issuer, account: user.email }, closed: null, replacement: null }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent === 'remove') {
    // Said before step-up, so the member does not confirm for a change that will be refused.
    const refused = await removalRefusal(user.id, { kind: 'totp' })
    if (refused) return data({ errors: { form: refused } }, { status: 409 })
    await requireStepUp(user.id, session, '/settings/security/totp', { intent: 'remove' })
    const removed = await removeTotp(user, meta, session.id)
    if (!removed.ok) return data({ errors: { form: removed.message } }, { status: removed.code === 'not_found' ? 400 : 409 })
    throw redirectTo('/settings/security')
  }
  if (form.data.intent === 'replace_cancel') {
    await cancelTotpReplacement(user.id)
    throw redirectTo('/settings/security/totp')
  }
  if (form.data.intent === 'replace_confirm') {
    // Policy first, so the member does not confirm for a change that will be refused.
    const closed = await enrollmentClosed(user.id, 'totp')
    if (closed) return data({ errors: { form: closed } }, { status: 403 })
    await requireStepUp(user.id, session, REPLACE_PATH)
    const replaced = await replaceTotp(user, form.data.code, meta, session.id)
    if (!replaced.ok) return data({ errors: { [replaced.field]: replaced.message }, startAgain: replaced.code === 'expired' || replaced.code === 'too_many' }, { status: replaced.status })
    // Replacing the app is how a member signed in with a temporary access code (an enrollment-only
    // session) who lost their phone gets a new one: it ends enrollment as adding one does (decision 070).
    const cookie = await upgradeEnrollOnlySession(session, user.id, 'totp', meta)
    throw redirectTo('/settings/security/totp?replaced=1', cookie ? { 'Set-Cookie': cookie } : {})
  }
  if ((await listFactors(user.id)).totp) return data({ errors: { form: 'An authenticator app is already on.' } }, { status: 409 })
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return data({ errors: { form: closed } }, { status: 403 })
  await requireStepUp(user.id, session, '/settings/security/totp')
  const result = await enrollTotp(user, form.data.code, meta, session.id)
  if (!result.ok) return data({ errors: { code: result.message } }, { status: 400 })
  const cookie = await upgradeEnrollOnlySession(session, user.id, 'totp', meta)
  const done = session.level === 'enroll_only' ? '/' : '/settings/security'
  if (!result.recoveryCodes) throw redirectTo(done, cookie ? { 'Set-Cookie': cookie } : {})
  return data({ recoveryCodes: result.recoveryCodes, account: user.email, issuedAt: new Date().toISOString(), done }, { headers: cookie ? { 'Set-Cookie': cookie } : {} })
}

export default function Totp() {
  const { enabled, setup, closed, replacement } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; recoveryCodes?: string[]; account?: string; issuedAt?: string; done?: string; startAgain?: boolean } | undefined
  const errors = result?.errors ?? {}
  const { t } = useTranslation()
  if (result?.recoveryCodes) {
    return (
      <section className="card">
        <h1>{t('totp.isOn')}</h1>
        <RecoveryCodesPanel codes={result.recoveryCodes} account={result.account ?? ''} issuedAt={result.issuedAt ?? ''} doneHref={result.done} />
      </section>
    )
  }
  if (enabled && replacement) {
    return (
      <section className="card narrow">
        <h1>{t('totp.replaceTitle')}</h1>
        <FormError message={errors.form} />
        {result?.startAgain ? <p><Link to="/settings/security/totp?replace=1" reloadDocument>{t('totp.startAgain')}</Link></p> : null}
        <p>{t('totp.replaceHint')}</p>
        <ol>
          <li>{t('totp.replaceStep1')}</li>
          <li>{t('totp.replaceStep2')}</li>
        </ol>
        <img src={replacement.qrDataUrl} alt={t('totp.qrAlt', { issuer: replacement.issuer, account: replacement.account })} width={220} height={220} />
        <details>
          <summary>{t('totp.cantScan')}</summary>
          <p>{t('totp.secretHint', { account: replacement.account, issuer: replacement.issuer })}</p>
          <p className="row"><code className="secret" data-testid="totp-secret">{groupsOfFour(replacement.secret)}</code> <CopyButton text={replacement.secret} what="secret" /></p>
        </details>
        <Form method="post" action="/settings/security/totp?replace=1" noValidate>
          <input type="hidden" name="intent" value="replace_confirm" />
          <CodeField label={t('totp.newCode')} name="code" error={errors.code} />
          <SubmitButton busyLabel={t('totp.verifying')} match={{ intent: 'replace_confirm' }}>{t('totp.verifyReplace')}</SubmitButton>
        </Form>
        <Form method="post" action="/settings/security/totp">
          <input type="hidden" name="intent" value="replace_cancel" />
          <button type="submit" className="secondary">{t('totp.cancelKeep')}</button>
        </Form>
      </section>
    )
  }
  if (enabled) {
    return (
      <section className="card narrow">
        <h1>{t('methods.totp')}</h1>
        {enabled.replaced ? <p className="banner info" role="status">{t('totp.replaced')}</p> : null}
        <FormError message={errors.form} />
        <p>{t('totp.onSince')}<Time value={enabled.since} />{t('totp.lastUsed')}<Time value={enabled.lastUsedAt} empty={t('security.never')} />{t('totp.lastUsedEnd')}</p>
        {enabled.replaceClosed ? (
          <p className="banner" role="status">{translateMessage(t, enabled.replaceClosed)}</p>
        ) : (
          <Form method="get" action="/settings/security/totp">
            <input type="hidden" name="replace" value="1" />
            <button type="submit">{t('totp.replace')}</button>
            <span className="hint">{t('totp.replaceButtonHint')}</span>
          </Form>
        )}
        {enabled.removal?.resumed ? (
          <ResumeChange resumed={{ intent: 'remove', values: {} }} label={t('totp.remove')} busyLabel={t('totp.removing')} cancelTo="/settings/security/totp">
            {t('totp.removeYour')}<RemovalEffect what={t('totp.removalWhat')} lastFactor={enabled.removal.lastFactor} otherSessions={enabled.removal.otherSessions} />
          </ResumeChange>
        ) : enabled.removal ? (
          <ConfirmAction title={t('totp.removeTitle')} fields={{ intent: 'remove' }} confirmLabel={t('totp.remove')} busyLabel={t('totp.removing')} cancelTo="/settings/security/totp">
            <RemovalEffect what={t('totp.removalWhat')} lastFactor={enabled.removal.lastFactor} otherSessions={enabled.removal.otherSessions} />
          </ConfirmAction>
        ) : (
          <p><Link to="?remove=1#confirm" className="button secondary">{t('totp.removeLink')}</Link></p>
        )}
      </section>
    )
  }
  if (closed) {
    return (
      <section className="card narrow">
        <h1>{t('methods.totp')}</h1>
        <FormError message={errors.form} />
        <p className="banner" role="status">{translateMessage(t, closed)}</p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>{t('totp.setUp')}</h1>
      <FormError message={errors.form} />
      <p className="muted">{t('totp.signsOut')}</p>
      <ol>
        <li>{t('totp.step1')}</li>
        <li>{t('totp.step2')}</li>
      </ol>
      <img src={setup!.qrDataUrl} alt={t('totp.qrAlt', { issuer: setup!.issuer, account: setup!.account })} width={220} height={220} />
      <details>
        <summary>{t('totp.cantScan')}</summary>
        <p>{t('totp.secretHint', { account: setup!.account, issuer: setup!.issuer })}</p>
        <p className="row"><code className="secret" data-testid="totp-secret">{groupsOfFour(setup!.secret)}</code> <CopyButton text={setup!.secret} what="secret" /></p>
      </details>
      <Form method="post" noValidate>
        <input type="hidden" name="intent" value="confirm" />
        <CodeField label={t('totp.code')} name="code" error={errors.code} />
        <SubmitButton busyLabel={t('totp.verifying')} match={{ intent: 'confirm' }}>{t('totp.verifyEnable')}</SubmitButton>
      </Form>
    </section>
  )
}
