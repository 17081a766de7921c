import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '#app/auth/password.server.ts'
import { completePasswordReset, findPasswordReset, resetNeedsSecondFactor } from '#app/auth/password-reset.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { Field, FormError } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Choose a new password · Gatehouse' }]

const schema = z
  .object({
    password: z.string().min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`).max(PASSWORD_MAX_LENGTH, 'That password is too long'),
    confirm: z.string(),
    factorMethod: z.enum(['totp', 'recovery_code']).optional(),
    factorCode: z.string().trim().max(20, 'That code is too long').optional(),
  })
  .refine((v) => v.password === v.confirm, { message: 'The two passwords differ', path: ['confirm'] })

export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findPasswordReset(params.token ?? '')
  return { valid: Boolean(found), email: found?.user.email ?? null, needsFactor: found ? await resetNeedsSecondFactor(found.user.id) : false }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  const secondFactor = form.data.factorCode ? { method: form.data.factorMethod ?? 'totp', code: form.data.factorCode } : undefined
  const result = await completePasswordReset({ token: params.token ?? '', password: form.data.password, meta: requestMeta(request, context), secondFactor })
  if (!result.ok && result.code === 'second_factor') return badRequest({ factorCode: result.message })
  if (!result.ok) return badRequest({ form: 'This reset link has expired or was already used. Ask for a new one.' })
  throw redirectTo('/login?notice=password-reset')
}

export default function ResetPassword() {
  const { valid, email, needsFactor } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const busy = useNavigation().state !== 'idle'
  const errors = (result?.errors ?? {}) as Record<string, string>
  if (!valid) {
    return (
      <section className="card narrow">
        <h1>This link does not work</h1>
        <p>The reset link has expired or was already used.</p>
        <Link to="/forgot-password">Ask for a new link</Link>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Choose a new password</h1>
      <p className="muted">For {email}. Every session of this account will be signed out.</p>
      <FormError message={errors.form} />
      <Form method="post" noValidate>
        <input type="hidden" name="username" autoComplete="username" value={email ?? ''} />
        <Field label="New password" name="password" type="password" autoComplete="new-password" minLength={12} error={errors.password} required />
        <Field label="Repeat the new password" name="confirm" type="password" autoComplete="new-password" error={errors.confirm} required />
        {needsFactor ? (
          <fieldset>
            <legend>Your account has two-step sign-in: confirm with a second factor</legend>
            <div className="field">
              <label htmlFor="factorMethod">Verify with</label>
              <select id="factorMethod" name="factorMethod" defaultValue="totp">
                <option value="totp">Authenticator app code</option>
                <option value="recovery_code">Recovery code</option>
              </select>
            </div>
            <Field label="Code" name="factorCode" autoComplete="one-time-code" maxLength={20} error={errors.factorCode} required />
          </fieldset>
        ) : null}
        <button type="submit" disabled={busy}>{busy ? 'Saving…' : 'Change password'}</button>
      </Form>
    </section>
  )
}
