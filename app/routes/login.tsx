import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react'
import { useState } from 'react'
import { z } from 'zod'
import { data } from '@remix-run/node'
import { rememberedRegion, rememberRegion } from '#app/auth/cookies.server.ts'
import { getSignedIn } from '#app/auth/guards.server.ts'
import { webauthnResponse } from '#app/mfa/factor-form.server.ts'
import { readDeviceToken } from '#app/mfa/trusted-devices.server.ts'
import { beginPasskeySignIn, beginSignIn, passkeyOptionsForm } from '#app/sign-in/web.server.ts'
import { routeLoginToSso, ssoPointer } from '#app/sso/web.server.ts'
import { config } from '#app/config/env.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta, safeRedirectPath } from '#app/http/request.server.ts'
import { describedBy, Field, FieldError, FormError, Notice } from '#app/ui/form.tsx'
import { PasskeySignIn } from '#app/ui/passkey-sign-in.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'
import { regionName } from '#app/ui/region-name.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'login.title') }]
export const handle = { i18n: 'pages' }

const region = z.string().refine((r) => config.regions.some((x) => x.code === r), 'Choose your region')
/** The password form posts no intent; the passkey button and the email field's autofill post theirs (decision 069). */
const schema = z.preprocess(
  (raw) => (raw && typeof raw === 'object' && !('intent' in raw) ? { ...raw, intent: 'password' } : raw),
  z.discriminatedUnion('intent', [
    z.object({
      intent: z.literal('password'),
      region,
      email: z.string().trim().min(1, 'Enter your email').max(254, 'That email is too long').email('Enter a valid email address'),
      password: z.string().min(1, 'Enter your password').max(256, 'That password is too long'),
      redirectTo: z.string().optional(),
    }),
    z.object({ intent: z.literal('passkey_options'), region }),
    z.object({
      intent: z.literal('passkey'),
      challengeId: z.string().uuid('This passkey request has expired. Try again.'),
      response: webauthnResponse,
      redirectTo: z.string().optional(),
    }),
  ]),
)

export async function loader({ request }: LoaderFunctionArgs) {
  if (await getSignedIn(request)) throw redirectTo('/')
  const url = new URL(request.url)
  // The region served on this address is chosen first (its passkeys, rpID = its host, work here),
  // unless the member chose another last time (a cookie).
  const here = config.regions.find((r) => r.origin === url.origin) ?? config.regions[0]
  const regions = config.regions.map((r) => ({ code: r.code, name: r.name, origin: r.origin }))
  return { regions, lastRegion: rememberedRegion(request, regions.map((r) => r.code)) ?? null, defaultRegion: here?.code, notice: url.searchParams.get('notice') }
}

export async function action({ request, context }: ActionFunctionArgs) {
  // Single sign-on by the address's domain (decision 075): to the provider, or "Continue with … SSO".
  const sso = await routeLoginToSso(request, requestMeta(request, context))
  if (sso) return sso
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  const meta = requestMeta(request, context)
  if (form.data.intent === 'passkey_options') return passkeyOptionsForm(form.data.region)
  if (form.data.intent === 'passkey') {
    const passkey = await beginPasskeySignIn({ challengeId: form.data.challengeId, response: form.data.response, meta, redirectTo: safeRedirectPath(form.data.redirectTo) })
    if (!passkey.ok) return badRequest({ form: passkey.message }, {}, passkey.status)
    throw passkey.response
  }
  const result = await beginSignIn({ ...form.data, meta, redirectTo: safeRedirectPath(form.data.redirectTo), deviceToken: readDeviceToken(request) })
  // The region is remembered whatever the outcome: it is what the member chose, not a secret.
  const remember = rememberRegion(form.data.region)
  if (!result.ok) {
    // Where the address's domain requires SSO, the refusal points there (decision 075).
    const pointer = result.status === 403 ? await ssoPointer(form.data.email, form.data.redirectTo) : null
    return data({ errors: { form: result.message }, values: { region: form.data.region, email: form.data.email, ...(pointer ? { sso: pointer } : {}) } }, { status: result.status, headers: { 'Set-Cookie': remember } })
  }
  result.response.headers.append('Set-Cookie', remember)
  throw result.response
}

/** Notices by `?notice=`, keys of login.notice in the catalogs. */
const NOTICES = ['signed-out', 'password-reset', 'expired', 'blocked', 'too-many-codes']

export default function Login() {
  const { regions, lastRegion, defaultRegion, notice } = useLoaderData<typeof loader>()
  const { t, i18n } = useTranslation()
  const actionData = useActionData<typeof action>() as { errors?: Record<string, string>; values?: Record<string, string | undefined> } | undefined
  const [params] = useSearchParams()
  const busy = useNavigation().state !== 'idle'
  const values = (actionData?.values ?? {}) as Record<string, string | undefined>
  const errors = (actionData?.errors ?? {}) as Record<string, string>
  const sso = ((actionData as { sso?: unknown } | undefined)?.sso ?? values.sso) as { orgName: string; href: string } | undefined
  const [region, setRegion] = useState(values.region ?? lastRegion ?? defaultRegion ?? regions[0]?.code)
  const redirectTo = params.get('redirectTo') ?? ''
  return (
    <section className="card narrow">
      <h1>{t('login.heading')}</h1>
      {notice && NOTICES.includes(notice) ? <Notice>{t(`login.notice.${notice}`)}</Notice> : null}
      <FormError message={errors.form} />
      {sso ? (
        <p className="row">
          <a className="button" href={sso.href} data-testid="sso-continue">{t('login.ssoContinue', { org: sso.orgName })}</a>
        </p>
      ) : null}
      <Form method="post" noValidate>
        <input type="hidden" name="redirectTo" value={redirectTo} />
        <div className="field">
          <label htmlFor="region">{t('login.region')}</label>
          <select id="region" name="region" value={region} onChange={(e) => setRegion(e.target.value)} {...describedBy('region', errors.region)}>
            {regions.map((r) => (
              <option key={r.code} value={r.code}>{regionName(t, i18n.language, r)} ({r.code.toUpperCase()})</option>
            ))}
          </select>
          <FieldError id="region" error={errors.region} />
        </div>
        {/* "webauthn" last: the browser offers this region's passkeys in the field's autofill (conditional UI). */}
        <Field label={t('login.email')} name="email" type="email" autoComplete="username webauthn" defaultValue={values.email} error={errors.email} required />
        <Field label={t('login.password')} name="password" type="password" autoComplete="current-password" error={errors.password} required />
        <div className="row">
          <button type="submit" disabled={busy}>{busy ? t('login.signingIn') : t('login.signIn')}</button>
          <Link to="/forgot-password">{t('login.forgot')}</Link>
        </div>
      </Form>
      <p className="muted">{t('login.orPasskey')}</p>
      <PasskeySignIn region={regions.find((r) => r.code === region)} redirectTo={redirectTo} attempt={actionData} />
    </section>
  )
}
