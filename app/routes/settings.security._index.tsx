import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { verifyPassword } from '#app/auth/password.server.ts'
import { recordWrongPassword } from '#app/auth/lockout.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { enrollmentClosed } from '#app/mfa/enrollment.server.ts'
import { hasAppOrKey, listFactors, mayHoldRecoveryCodes, removalRefusal, setPreferredMethod, turnOffMfa } from '#app/mfa/factors.server.ts'
import { RECOVERY_LOW_WATERMARK } from '#app/mfa/recovery-codes.server.ts'
import { requireStepUp } from '#app/sign-in/web.server.ts'
import { stepUpLocation } from '#app/http/resume.server.ts'
import { listDevices } from '#app/mfa/trusted-devices.server.ts'
import { isDomainError } from '#app/errors.ts'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { answerInvitation, listMyInvitations } from '#app/orgs/invites.server.ts'
import { Field, FormError, Notice, SelectField } from '#app/ui/form.tsx'
import { Time } from '#app/ui/time.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'security.title') }]
export const handle = { i18n: 'pages' }

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('preferred'), method: z.enum(['totp', 'webauthn', 'email'], { message: 'Choose a method' }) }),
  z.object({ intent: z.literal('turn_off'), password: z.string().min(1, 'Enter your password').max(256, 'That password is too long') }),
  z.object({ intent: z.literal('accept_invitation'), invitationId: z.string().uuid('Choose an invitation') }),
  z.object({ intent: z.literal('decline_invitation'), invitationId: z.string().uuid('Choose an invitation') }),
])

/** Where turning 2FA off starts when the session has no fresh second factor: step-up first, then the password form (decision 072). */
const TURN_OFF_PATH = '/settings/security?turn-off=1#turn-off'

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const factors = await listFactors(user.id)
  const notice = new URL(request.url).searchParams.get('notice')
  const mfaOn = hasAppOrKey(factors)
  return {
    enrollmentClosed: await enrollmentClosed(user.id),
    totpClosed: await enrollmentClosed(user.id, 'totp'),
    // Under Required, turning 2FA off is refused: say so instead of offering the form.
    turnOffRefused: mfaOn ? await removalRefusal(user.id, { kind: 'all' }) : null,
    mfaOn: hasAppOrKey(factors),
    // The password is never carried through step-up: without a fresh second factor the form is not shown yet.
    turnOffStepUp: mfaOn && !hasFreshSecondFactor(session) ? stepUpLocation(TURN_OFF_PATH) : null,
    since: user.mfaEnabledAt?.toISOString() ?? null,
    preferred: user.preferredMethod,
    totp: factors.totp ? { lastUsedAt: factors.totp.lastUsedAt?.toISOString() ?? null, since: factors.totp.confirmedAt.toISOString() } : null,
    keys: factors.keys.map((k) => ({ id: k.id, label: k.label, createdAt: k.createdAt.toISOString(), lastUsedAt: k.lastUsedAt?.toISOString() ?? null })),
    recoveryCodesLeft: factors.recoveryCodesLeft,
    mayHoldRecoveryCodes: mayHoldRecoveryCodes(user, factors),
    recoveryCodesLow: factors.recoveryCodesLeft <= RECOVERY_LOW_WATERMARK,
    devices: (await listDevices(user.id)).map((x) => ({ id: x.id, label: x.label, lastUsedAt: x.lastUsedAt?.toISOString() ?? null, createdAt: x.createdAt.toISOString() })),
    notice,
    invitations: (await listMyInvitations(user)).map((x) => ({ id: x.id, organization: x.organization.name, role: x.role, inviter: x.inviter, policyText: x.policyText, expiresAt: x.expiresAt.toISOString() })),
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  if (form.data.intent === 'preferred') {
    if (!(await setPreferredMethod(user, form.data.method))) return data({ errors: { method: 'Set up that method first.' } }, { status: 400 })
    return { ok: 'Preferred method saved.' }
  }
  if (form.data.intent === 'accept_invitation' || form.data.intent === 'decline_invitation') {
    const answer = form.data.intent === 'accept_invitation' ? 'accept' : 'decline'
    try {
      const row = await answerInvitation({ user, session, invitationId: form.data.invitationId, answer, meta: requestMeta(request, context) })
      return { ok: answer === 'accept' ? `You joined the organization as ${row.role}.` : 'Invitation declined.' }
    } catch (e) {
      if (!isDomainError(e)) throw e
      // An account with an app or key answers only after its second factor: confirm, then come back.
      if (e.code === 'step_up_required') throw redirectTo(stepUpLocation('/settings/security'))
      return formError(e)
    }
  }
  const refused = await removalRefusal(user.id, { kind: 'all' })
  if (refused) return data({ errors: { form: refused } }, { status: 409 })
  // Lapsed while the form was open: step-up again, back to the form (the password is not carried).
  const factors = await requireStepUp(user.id, session, TURN_OFF_PATH)
  if (!hasAppOrKey(factors)) return data({ errors: { form: 'Two-factor authentication is already off.' } }, { status: 400 })
  const meta = requestMeta(request, context)
  // After the step-up; a wrong password counts toward the lockout, as at sign-in (decision 057).
  if (!user.passwordHash || !(await verifyPassword(user.passwordHash, form.data.password))) {
    await recordWrongPassword(user, meta, '2fa_disable')
    return data({ errors: { password: 'That password is not right.' } }, { status: 400 })
  }
  const off = await turnOffMfa(user, meta, session.id)
  if (!off.ok) return data({ errors: { form: off.message } }, { status: 409 })
  throw redirectTo('/settings/security?notice=mfa-off')
}


export default function Security() {
  const d = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; ok?: string } | undefined
  const errors = result?.errors ?? {}
  const { t } = useTranslation()
  return (
    <>
      <section className="card">
        <h1>{t('security.title')}</h1>
        {d.enrollmentClosed ? <p className="banner" role="status">{translateMessage(t, d.enrollmentClosed)}</p> : null}
        {d.notice === 'mfa-off' ? <Notice>{t('security.notice.mfaOff')}</Notice> : null}
        {d.notice === 'mfa-required' ? <Notice>{t('security.notice.mfaRequired')}</Notice> : null}
        {result?.ok ? <Notice>{translateMessage(t, result.ok)}</Notice> : null}
        <FormError message={errors.form} />
        <p>
          {t('security.mfa')} {d.mfaOn ? <span className="badge ok">{t('security.on')}</span> : <span className="badge warn">{t('security.off')}</span>}
          {d.mfaOn && d.since ? <span className="muted">{t('security.since')}<Time value={d.since} empty={t('security.never')} />{t('security.sinceEnd')}</span> : null}
        </p>
        <p className="muted">{t('security.signsOutElsewhere')}</p>
        <Form method="post" className="row">
          <input type="hidden" name="intent" value="preferred" />
          <SelectField label={t('security.preferred')} name="method" defaultValue={d.preferred ?? 'email'} error={errors.method}>
            <option value="totp" disabled={!d.totp}>{t('methods.totp')}</option>
            <option value="webauthn" disabled={d.keys.length === 0}>{t('methods.webauthn')}</option>
            <option value="email">{t('security.email')}</option>
          </SelectField>
          <button type="submit" className="secondary">{t('security.save')}</button>
        </Form>
      </section>
      {d.invitations.length ? (
        <section className="card" aria-labelledby="invitations-heading">
          <h2 id="invitations-heading">Invitations</h2>
          <p className="muted">You join an organization only if you accept. Its policy then applies when you sign in.</p>
          <ul>
            {d.invitations.map((x) => (
              <li key={x.id} data-testid="invitation">
                <p><strong>{x.organization}</strong> invites you as {x.role}{x.inviter ? ` (from ${x.inviter})` : ''}. {x.policyText}. <span className="muted">Open until <Time value={x.expiresAt} empty={t('security.never')} />.</span></p>
                <Form method="post" className="row">
                  <input type="hidden" name="invitationId" value={x.id} />
                  <button type="submit" name="intent" value="accept_invitation">Accept</button>
                  <button type="submit" name="intent" value="decline_invitation" className="secondary">Decline</button>
                </Form>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section className="card">
        <h2>{t('methods.totp')}</h2>
        {d.totp ? <p>{t('security.onSince')}<Time value={d.totp.since} empty={t('security.never')} />{t('security.lastUsed')}<Time value={d.totp.lastUsedAt} empty={t('security.never')} />{t('security.lastUsedEnd')}</p> : <p className="muted">{t('security.notSetUp')}</p>}
        {!d.totp && d.totpClosed && !d.enrollmentClosed ? <p className="muted">{translateMessage(t, d.totpClosed)}</p> : null}
        {d.totp ? <Link to="/settings/security/totp">{t('security.manageTotp')}</Link> : d.totpClosed ? null : <Link to="/settings/security/totp">{t('security.setUpTotp')}</Link>}
      </section>
      <section className="card">
        <h2>{t('security.keys')}</h2>
        {d.keys.length === 0 ? <p className="muted">{t('security.noKeys')}</p> : (
          <ul>{d.keys.map((k) => <li key={k.id}>{k.label} <span className="muted">{t('security.added')}<Time value={k.createdAt} empty={t('security.never')} />{t('security.lastUsed')}<Time value={k.lastUsedAt} empty={t('security.never')} />{t('security.lastUsedEnd')}</span></li>)}</ul>
        )}
        <Link to="/settings/security/keys">{t('security.manageKeys')}</Link>
      </section>
      <section className="card">
        <h2>{t('security.recoveryCodes')}</h2>
        {d.mfaOn ? (
          <p>
            {t('security.codesLeft', { count: d.recoveryCodesLeft })}{' '}
            {d.recoveryCodesLow ? <span className="badge bad">{t('security.codesLow')}</span> : null}
          </p>
        ) : d.recoveryCodesLeft > 0 ? (
          <p>{t('security.backupCodesLeft', { count: d.recoveryCodesLeft })}</p>
        ) : <p className="muted">{t('security.codesComeWith')}</p>}
        {d.mfaOn || d.recoveryCodesLeft > 0 ? <Link to="/settings/security/recovery-codes">{t('security.manageCodes')}</Link> : d.mayHoldRecoveryCodes ? <Link to="/settings/security/recovery-codes">{t('security.getBackupCodes')}</Link> : null}
      </section>
      <section className="card">
        <h2>{t('security.devices')}</h2>
        {d.devices.length === 0 ? <p className="muted">{t('security.noDevices')}</p> : (
          <>
            <p>{t('security.devicesSkip', { count: d.devices.length })}</p>
            <ul aria-label={t('security.devices')}>{d.devices.map((x) => <li key={x.id}>{x.label} <span className="muted">{t('security.remembered')}<Time value={x.createdAt} empty={t('security.never')} />{t('security.lastUsed')}<Time value={x.lastUsedAt ?? x.createdAt} empty={t('security.never')} />{t('security.lastUsedEnd')}</span></li>)}</ul>
          </>
        )}
        <Link to="/settings/security/devices">{d.devices.length ? t('security.forgetDevices') : t('security.manageDevices')}</Link>
      </section>
      <section className="card">
        <h2>{t('security.sessions')}</h2>
        <p className="muted">{t('security.sessionsHint')}</p>
        <Link to="/settings/security/sessions">{t('security.manageSessions')}</Link>
      </section>
      {d.mfaOn ? (
        <section className="card" id="turn-off">
          <h2>{t('security.turnOff')}</h2>
          <p className="muted">{t('security.turnOffHint')}</p>
          {d.turnOffRefused ? <p role="status">{translateMessage(t, d.turnOffRefused)}</p> : d.turnOffStepUp ? (
            <p><a href={d.turnOffStepUp} className="button">{t('security.turnOffStart')}</a> <span className="hint">{t('security.turnOffStepUp')}</span></p>
          ) : <Form method="post">
            <input type="hidden" name="intent" value="turn_off" />
            <input type="hidden" name="username" autoComplete="username" value="" />
            <Field label={t('login.password')} name="password" type="password" autoComplete="current-password" error={errors.password} required />
            <SubmitButton className="danger" busyLabel={t('security.turningOff')} match={{ intent: 'turn_off' }}>{t('security.turnOffSubmit')}</SubmitButton>
          </Form>}
        </section>
      ) : null}
    </>
  )
}
