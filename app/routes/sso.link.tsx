import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { parseForm, badRequest } from '#app/http/forms.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { handleLinkForm, loadLink } from '#app/sso/web.server.ts'
import { Field, FormError } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Link your account · Gatehouse' }]

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('password'), password: z.string().min(1, 'Enter your password').max(256, 'That password is too long') }),
  z.object({ intent: z.literal('code'), code: z.string().trim().min(1, 'Enter a code').max(64, 'That code is too long') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const link = await loadLink(request)
  if (!link) return { expired: true as const }
  return { expired: false as const, email: link.user.email, orgName: link.orgName, hasPassword: Boolean(link.user.passwordHash) }
}

/** No silent linking (decision 075): the account's holder proves its password or current factor first. */
export async function action({ request, context }: ActionFunctionArgs) {
  const link = await loadLink(request)
  if (!link) return badRequest({ form: 'This link has expired or was already used. Start again from the sign-in page.' }, {}, 400)
  const form = await parseForm(request, schema)
  if (!form.ok) return badRequest(form.errors)
  const proof = form.data.intent === 'password' ? { password: form.data.password } : { code: form.data.code }
  return handleLinkForm(link, proof, requestMeta(request, context))
}

export default function SsoLink() {
  const loaded = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; ended?: boolean } | undefined
  const busy = useNavigation().state !== 'idle'
  const errors = result?.errors ?? {}
  if (loaded.expired || result?.ended) {
    return (
      <section className="card narrow">
        <h1>Link your account</h1>
        <div className="banner error" role="alert">{errors.form ?? errors.password ?? errors.code ?? 'This link has expired or was already used.'} Start again from the sign-in page.</div>
        <p><a href="/login">Back to sign-in</a></p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Link your account</h1>
      <p>
        There is already a Gatehouse account for <strong>{loaded.email}</strong>. To sign in to it through {loaded.orgName} SSO from now on, prove it is yours once.
      </p>
      <FormError message={errors.form} />
      {loaded.hasPassword ? (
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="password" />
          <Field label="Your Gatehouse password" name="password" type="password" autoComplete="current-password" error={errors.password} required />
          <button type="submit" disabled={busy}>Link with my password</button>
        </Form>
      ) : null}
      <Form method="post" noValidate>
        <input type="hidden" name="intent" value="code" />
        <Field label="Or a code from your authenticator app (or a recovery code)" name="code" autoComplete="one-time-code" error={errors.code} />
        <button type="submit" className="secondary" disabled={busy}>Link with a code</button>
      </Form>
    </section>
  )
}
