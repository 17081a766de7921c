import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { newPassword, passwordProblem as breaksARule } from '#app/auth/password.schema.ts'
import { NewPasswordField } from '#app/ui/password-field.tsx'
import { completePasswordReset, findPasswordReset, resetFactorMethods, resetFactorPrompt, resetKeyOptions, type ResetSecondFactor } from '#app/auth/password-reset.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { webauthnResponse } from '#app/mfa/factor-form.server.ts'
import { Field, FormError } from '#app/ui/form.tsx'
import { WebAuthnButton } from '#app/ui/webauthn.tsx'
import { useTranslation } from 'react-i18next'
import type { TFunction } from 'i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'reset.title') }]
export const handle = { i18n: 'pages' }

const INVALID_LINK = 'This reset link has expired or was already used. Ask for a new one.'

// Built when the action runs, as the schema below is.
const newPasswordFields = () => ({
  password: newPassword,
  confirm: z.string(),
})

// A post without an intent is the plain form (password, and a typed code where one is due).
const resetSchema = () => z.preprocess(
  (v) => ({ intent: 'code', ...(v as object) }),
  z
    .discriminatedUnion('intent', [
      z.object({ intent: z.literal('webauthn_options') }),
      z.object({
        intent: z.literal('code'),
        ...newPasswordFields(),
        factorMethod: z.enum(['totp', 'recovery_code']).optional(),
        factorCode: z.string().trim().max(20, 'That code is too long').optional(),
      }),
      z.object({ intent: z.literal('webauthn'), ...newPasswordFields(), challengeId: z.string().uuid('This security key request has expired. Try again.'), response: webauthnResponse }),
    ])
    .superRefine((v, ctx) => {
      if ('password' in v && v.password !== v.confirm) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'The two passwords differ', path: ['confirm'] })
    }),
)

export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findPasswordReset(params.token ?? '')
  const methods = found ? await resetFactorMethods(found.user.id) : []
  return { valid: Boolean(found), email: found?.user.email ?? null, methods, prompt: methods.length ? resetFactorPrompt(methods) : null }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const token = params.token ?? ''
  const form = await parseForm(request, resetSchema())
  if (!form.ok) return badRequest(form.errors)
  if (form.data.intent === 'webauthn_options') {
    const created = await resetKeyOptions(token)
    if (!created) return badRequest({ form: (await findPasswordReset(token)) ? 'There is no security key on this account.' : INVALID_LINK })
    return data({ webauthnOptions: created.options, challengeId: created.challengeId })
  }
  let secondFactor: ResetSecondFactor | undefined
  if (form.data.intent === 'webauthn') secondFactor = { method: 'webauthn', challengeId: form.data.challengeId, response: form.data.response }
  else if (form.data.factorCode) secondFactor = { method: form.data.factorMethod ?? 'totp', code: form.data.factorCode }
  const result = await completePasswordReset({ token, password: form.data.password, meta: requestMeta(request, context), secondFactor })
  if (!result.ok && result.code === 'second_factor') return badRequest(form.data.intent === 'webauthn' ? { form: result.message } : { factorCode: result.message })
  if (!result.ok) return badRequest({ form: INVALID_LINK })
  throw redirectTo('/login?notice=password-reset')
}

/** The two password fields, read when the security key button is pressed (it posts outside the form). */
function readPasswords(): Record<string, string> {
  const value = (id: string) => (document.getElementById(id) as HTMLInputElement | null)?.value ?? ''
  return { password: value('password'), confirm: value('confirm') }
}

function passwordProblem(t: TFunction): string | null {
  const { password, confirm } = readPasswords()
  const broken = breaksARule(password)
  if (broken) return t('reset.passwordFirst', { problem: translateMessage(t, broken).toLowerCase() })
  if (password !== confirm) return t('reset.differ')
  return null
}

/** The server's resetFactorPrompt, in the page's language (the same words in English). */
function confirmWith(t: TFunction, methods: string[]): string {
  const ways = (['totp', 'webauthn', 'recovery_code'] as const).filter((m) => methods.includes(m)).map((m) => t(`reset.ways.${m}`))
  return t('reset.confirmWith', { ways: ways.length > 1 ? `${ways.slice(0, -1).join(t('reset.comma'))}${t('reset.or')}${ways.at(-1)}` : ways[0] })
}

export default function ResetPassword() {
  const { valid, email, methods, prompt } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string> } | undefined
  const busy = useNavigation().state !== 'idle'
  const errors = result?.errors ?? {}
  const { t } = useTranslation()
  if (!valid) {
    return (
      <section className="card narrow">
        <h1>{t('reset.invalidTitle')}</h1>
        <p>{t('reset.invalid')}</p>
        <Link to="/forgot-password">{t('reset.askAgain')}</Link>
      </section>
    )
  }
  const codeMethods = methods.filter((m): m is 'totp' | 'recovery_code' => m === 'totp' || m === 'recovery_code')
  const hasKey = methods.includes('webauthn')
  // The prompt comes back as the code's error when no code was given: said in the page's language too.
  const said = (message?: string) => (message && message === prompt ? confirmWith(t, methods) : message)
  return (
    <section className="card narrow">
      <h1>{t('reset.title')}</h1>
      <p className="muted">{t('reset.forWhom', { email })}</p>
      <FormError message={said(errors.form)} />
      <Form method="post" noValidate>
        <input type="hidden" name="username" autoComplete="username" value={email ?? ''} />
        <NewPasswordField label={t('reset.newPassword')} error={errors.password} />
        <Field label={t('reset.repeat')} name="confirm" type="password" autoComplete="new-password" error={errors.confirm} required />
        {prompt ? (
          <fieldset>
            <legend>{t('reset.confirmLegend')}</legend>
            <p className="muted">{confirmWith(t, methods)}</p>
            {codeMethods.length ? (
              <>
                <div className="field">
                  <label htmlFor="factorMethod">{t('reset.verifyWith')}</label>
                  <select id="factorMethod" name="factorMethod" defaultValue={codeMethods[0]}>
                    {codeMethods.includes('totp') ? <option value="totp">{t('reset.totpCode')}</option> : null}
                    {codeMethods.includes('recovery_code') ? <option value="recovery_code">{t('methods.recovery_code')}</option> : null}
                  </select>
                </div>
                <Field label={t('reset.code')} name="factorCode" autoComplete="one-time-code" maxLength={20} error={said(errors.factorCode)} required />
              </>
            ) : null}
            {hasKey ? <WebAuthnButton mode="authenticate" label={t('reset.useKey')} fieldsFn={readPasswords} validate={() => passwordProblem(t)} /> : null}
          </fieldset>
        ) : null}
        {!prompt || codeMethods.length ? <button type="submit" disabled={busy}>{busy ? t('reset.saving') : t('reset.change')}</button> : null}
      </Form>
    </section>
  )
}
