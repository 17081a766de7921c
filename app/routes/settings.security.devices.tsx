import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { listDevices, revokeAllDevices, revokeDevice } from '#app/mfa/trusted-devices.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { Time } from '#app/ui/time.tsx'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'security.devices') }]
export const handle = { i18n: 'pages' }

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('revoke'), deviceId: z.string().uuid('Unknown device') }),
  z.object({ intent: z.literal('revoke_all') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const { user } = await requireUser(request)
  // "Forget all" is confirmed first (?forget=all), decision 072.
  return { confirmForgetAll: new URL(request.url).searchParams.get('forget') === 'all', devices: (await listDevices(user.id)).map((d) => ({ id: d.id, label: d.label, method: d.method, createdAt: d.createdAt.toISOString(), lastUsedAt: d.lastUsedAt?.toISOString() ?? null, expiresAt: d.expiresAt.toISOString() })) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent === 'revoke_all') return { revoked: await revokeAllDevices(user, meta) }
  if (!(await revokeDevice(user, form.data.deviceId, meta))) return data({ errors: { form: 'That device is not remembered for this account.' } }, { status: 404 })
  return { revoked: 1 }
}

export default function Devices() {
  const { devices, confirmForgetAll } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; revoked?: number } | undefined
  const { t } = useTranslation()
  return (
    <section className="card">
      <h1>{t('security.devices')}</h1>
      <p className="muted">{t('devices.hint')}</p>
      {result?.revoked !== undefined ? <Notice>{result.revoked === 1 ? t('devices.forgottenOne') : t('devices.forgotten', { count: result.revoked })}</Notice> : null}
      <FormError message={result?.errors?.form} />
      {devices.length === 0 ? <p>{t('devices.none')}</p> : (
        <>
          <table>
            <thead><tr><th>{t('devices.browser')}</th><th>{t('devices.remembered')}</th><th>{t('devices.lastUsed')}</th><th>{t('devices.expires')}</th><th /></tr></thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id}>
                  <td>{d.label}</td>
                  <td><Time value={d.createdAt} /></td>
                  <td><Time value={d.lastUsedAt} empty={t('security.never')} /></td>
                  <td><Time value={d.expiresAt} /></td>
                  <td>
                    <Form method="post">
                      <input type="hidden" name="intent" value="revoke" />
                      <input type="hidden" name="deviceId" value={d.id} />
                      <SubmitButton className="secondary" busyLabel={t('devices.forgetting')} match={{ intent: 'revoke', deviceId: d.id }} aria-label={t('devices.forgetLabel', { label: d.label })}>{t('devices.forget')}</SubmitButton>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {confirmForgetAll && result?.revoked === undefined ? (
            <ConfirmAction title={t('devices.forgetAllTitle')} fields={{ intent: 'revoke_all' }} confirmLabel={t('devices.forgetAll')} busyLabel={t('devices.forgetting')} cancelTo="/settings/security/devices">
              {devices.length === 1 ? t('devices.forgetAllOne') : t('devices.forgetAllMany', { count: devices.length })}
            </ConfirmAction>
          ) : (
            <p style={{ marginTop: '1rem' }}><Link to="?forget=all#confirm" className="button secondary">{t('devices.forgetAllLink')}</Link></p>
          )}
        </>
      )}
    </section>
  )
}
