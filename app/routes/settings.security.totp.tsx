import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { readSessionToken } from '#app/auth/session.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { enrollTotp, upgradeEnrollOnlySession } from '#app/mfa/enrollment.server.ts'
import { factorRemovalRefusal, listFactors, removeTotp } from '#app/mfa/factors.server.ts'
import { requireStepUp } from '#app/mfa/step-up-guard.server.ts'
import { beginTotpSetup, getTotp, pendingTotpSetup } from '#app/mfa/totp.server.ts'
import { CodeField, FormError } from '#app/ui/form.tsx'
import { RecoveryCodesPanel } from '#app/ui/recovery-codes.tsx'

export const meta: MetaFunction = () => [{ title: 'Authenticator app · Gatehouse' }]

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('confirm'), code: z.string().trim().min(1, 'Enter the 6-digit code from your app').max(12, 'That code is too long') }),
  z.object({ intent: z.literal('remove') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const enabled = await getTotp(user.id)
  if (enabled) return { enabled: { since: enabled.confirmedAt!.toISOString(), lastUsedAt: enabled.lastUsedAt?.toISOString() ?? null }, setup: null }
  // Adding a factor when the member already has one needs step-up.
  await requireStepUp(user.id, session, '/settings/security/totp')
  const setup = (await pendingTotpSetup(user)) ?? (await beginTotpSetup(user))
  if (!('secret' in setup)) throw redirectTo('/settings/security/totp')
  return { enabled: null, setup: { secret: setup.secret, qrDataUrl: setup.qrDataUrl, issuer: setup.issuer, account: user.email } }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent === 'remove') {
    const factors = await requireStepUp(user.id, session, '/settings/security/totp')
    const refusal = await factorRemovalRefusal(user.id, { totp: false, keys: factors.keys.length })
    if (refusal) return data({ errors: { form: refusal } }, { status: 409 })
    if (!(await removeTotp(user, meta))) return data({ errors: { form: 'There is no authenticator app on this account.' } }, { status: 400 })
    throw redirectTo('/settings/security')
  }
  if ((await listFactors(user.id)).totp) return data({ errors: { form: 'An authenticator app is already on.' } }, { status: 409 })
  await requireStepUp(user.id, session, '/settings/security/totp')
  const result = await enrollTotp(user, form.data.code, meta)
  if (!result.ok) return data({ errors: { code: result.message } }, { status: 400 })
  const cookie = await upgradeEnrollOnlySession(session, user.id, 'totp', meta, readSessionToken(request))
  const done = session.level === 'enroll_only' ? '/' : '/settings/security'
  if (!result.recoveryCodes) throw redirectTo(done, cookie ? { 'Set-Cookie': cookie } : {})
  return data({ recoveryCodes: result.recoveryCodes, done }, { headers: cookie ? { 'Set-Cookie': cookie } : {} })
}

export default function Totp() {
  const { enabled, setup } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; recoveryCodes?: string[]; done?: string } | undefined
  const errors = result?.errors ?? {}
  if (result?.recoveryCodes) {
    return (
      <section className="card">
        <h1>Authenticator app is on</h1>
        <RecoveryCodesPanel codes={result.recoveryCodes} doneHref={result.done} />
      </section>
    )
  }
  if (enabled) {
    return (
      <section className="card narrow">
        <h1>Authenticator app</h1>
        <FormError message={errors.form} />
        <p>On since {new Date(enabled.since).toUTCString()}. Last used {enabled.lastUsedAt ? new Date(enabled.lastUsedAt).toUTCString() : 'never'}.</p>
        <Form method="post">
          <input type="hidden" name="intent" value="remove" />
          <button type="submit" className="danger">Remove authenticator app</button>
        </Form>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Set up an authenticator app</h1>
      <FormError message={errors.form} />
      <ol>
        <li>Scan this QR code with your authenticator app.</li>
        <li>Enter the 6-digit code it shows.</li>
      </ol>
      <img src={setup!.qrDataUrl} alt={`QR code for ${setup!.issuer}, ${setup!.account}`} width={220} height={220} />
      <details>
        <summary>Can't scan?</summary>
        <p>Enter this secret in your app (account: {setup!.account}, issuer: {setup!.issuer}, time-based):</p>
        <p><code className="secret" data-testid="totp-secret">{setup!.secret}</code></p>
      </details>
      <Form method="post" noValidate>
        <input type="hidden" name="intent" value="confirm" />
        <CodeField label="Code from the app" name="code" error={errors.code} />
        <button type="submit">Verify &amp; enable</button>
      </Form>
    </section>
  )
}
