import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react'
import { z } from 'zod'
import { data } from '@remix-run/node'
import { rememberedRegion, rememberRegion } from '#app/auth/cookies.server.ts'
import { getSignedIn } from '#app/auth/guards.server.ts'
import { readDeviceToken } from '#app/mfa/trusted-devices.server.ts'
import { beginSignIn } from '#app/sign-in/web.server.ts'
import { config } from '#app/config/env.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta, safeRedirectPath } from '#app/http/request.server.ts'
import { Field, FormError, Notice, SelectField } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Sign in · Gatehouse' }]

const schema = z.object({
  region: z.string().refine((r) => config.regions.some((x) => x.code === r), 'Choose your region'),
  email: z.string().trim().min(1, 'Enter your email').max(254, 'That email is too long').email('Enter a valid email address'),
  password: z.string().min(1, 'Enter your password').max(256, 'That password is too long'),
  redirectTo: z.string().optional(),
})

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getSignedIn(request)) throw redirectTo('/')
  const url = new URL(request.url)
  const regions = config.regions.map((r) => ({ code: r.code, name: r.name }))
  return { regions, lastRegion: rememberedRegion(request, regions.map((r) => r.code)) ?? null, notice: url.searchParams.get('notice') }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  const result = await beginSignIn({ ...form.data, meta: requestMeta(request, context), redirectTo: safeRedirectPath(form.data.redirectTo), deviceToken: readDeviceToken(request) })
  // The region is remembered whatever the outcome: it is what the member chose, not a secret.
  const remember = rememberRegion(form.data.region)
  if (!result.ok) return data({ errors: { form: result.message }, values: { region: form.data.region, email: form.data.email } }, { status: result.status, headers: { 'Set-Cookie': remember } })
  result.response.headers.append('Set-Cookie', remember)
  throw result.response
}

const NOTICES: Record<string, string> = {
  'signed-out': 'You have signed out.',
  'password-reset': 'Your password has been changed. Sign in with the new one.',
  expired: 'Your session has ended. Sign in again.',
  blocked: 'Your organization requires two-factor authentication and your deadline to set it up has passed, so you have been signed out. Sign in again to see whom to contact.',
  'too-many-codes': 'Too many wrong codes: you have been signed out. Sign in again.',
}

export default function Login() {
  const { regions, lastRegion, notice } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const [params] = useSearchParams()
  const busy = useNavigation().state !== 'idle'
  const values = (actionData?.values ?? {}) as Record<string, string | undefined>
  const errors = (actionData?.errors ?? {}) as Record<string, string>
  return (
    <section className="card narrow">
      <h1>Sign in to Gatehouse</h1>
      {notice && NOTICES[notice] ? <Notice>{NOTICES[notice]}</Notice> : null}
      <FormError message={errors.form} />
      <Form method="post" noValidate>
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
        <SelectField label="Region" name="region" defaultValue={values.region ?? lastRegion ?? regions[0]?.code} error={errors.region}>
          {regions.map((r) => (
            <option key={r.code} value={r.code}>{r.name} ({r.code.toUpperCase()})</option>
          ))}
        </SelectField>
        <Field label="Email" name="email" type="email" autoComplete="username" defaultValue={values.email} error={errors.email} required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" error={errors.password} required />
        <div className="row">
          <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
          <Link to="/forgot-password">Forgot password?</Link>
        </div>
      </Form>
    </section>
  )
}
