import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { hasAppOrKey, listFactors, mayHoldRecoveryCodes, regenerateRecoveryCodes } from '#app/mfa/factors.server.ts'
import { RECOVERY_LOW_WATERMARK } from '#app/mfa/recovery-codes.server.ts'
import { requireStepUp } from '#app/sign-in/web.server.ts'
import { FormError } from '#app/ui/form.tsx'
import { RecoveryCodesPanel } from '#app/ui/recovery-codes.tsx'
import { readResumed } from '#app/http/resume.server.ts'
import { ResumeChange } from '#app/ui/resume.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'security.recoveryCodes') }]
export const handle = { i18n: 'pages' }

const schema = z.object({ intent: z.literal('regenerate') })

export async function loader({ request }: LoaderFunctionArgs) {
  const { user } = await requireUser(request)
  const factors = await listFactors(user.id)
  // Back from step-up with "regenerate" (decision 072): the page offers to finish it.
  return { left: factors.recoveryCodesLeft, mfaOn: hasAppOrKey(factors), may: mayHoldRecoveryCodes(user, factors), low: factors.recoveryCodesLeft <= RECOVERY_LOW_WATERMARK, resumed: readResumed(request, schema) !== null }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  // Always a fresh second factor, also for a member whose only factor is email (decision 071).
  const factors = await requireStepUp(user.id, session, '/settings/security/recovery-codes', { intent: 'regenerate' }, { evenWithoutFactor: true })
  if (!mayHoldRecoveryCodes(user, factors)) return data({ errors: { form: 'Support and administrator accounts get recovery codes with an authenticator app or a security key. Set one up first.' } }, { status: 400 })
  return { codes: await regenerateRecoveryCodes(user, requestMeta(request, context), session.id), account: user.email, issuedAt: new Date().toISOString() }
}

export default function RecoveryCodes() {
  const d = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; codes?: string[]; account?: string; issuedAt?: string } | undefined
  const { t } = useTranslation()
  if (result?.codes) return <RecoveryCodesPanel codes={result.codes} account={result.account ?? ''} issuedAt={result.issuedAt ?? ''} />
  return (
    <section className="card narrow">
      <h1>{t('security.recoveryCodes')}</h1>
      <FormError message={result?.errors?.form} />
      <p>{d.left === 1 ? t('recoveryCodes.oneLeft') : t('recoveryCodes.left', { count: d.left })}</p>
      {!d.mfaOn && d.may ? <p className="muted">{t('recoveryCodes.emailOnly')}</p> : null}
      {d.may && d.low && (d.mfaOn || d.left > 0) ? <div className="banner warn" role="status">{t('recoveryCodes.low')}</div> : null}
      {d.may && d.resumed ? (
        <ResumeChange resumed={{ intent: 'regenerate', values: {} }} label={t('recoveryCodes.regenerate')} busyLabel={t('recoveryCodes.generating')} cancelTo="/settings/security/recovery-codes">
          {t('recoveryCodes.resume')}
        </ResumeChange>
      ) : d.may ? (
        <Form method="post">
          <input type="hidden" name="intent" value="regenerate" />
          <p className="muted">{d.left > 0 || d.mfaOn ? t('recoveryCodes.replaces') : t('recoveryCodes.onceShown')}</p>
          <SubmitButton busyLabel={t('recoveryCodes.generating')} match={{ intent: 'regenerate' }}>{d.left > 0 || d.mfaOn ? t('recoveryCodes.regenerate') : t('recoveryCodes.generateBackup')}</SubmitButton>
        </Form>
      ) : <p className="muted">{t('recoveryCodes.setUpFirst')}</p>}
    </section>
  )
}
