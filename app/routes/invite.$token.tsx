import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { acceptInvite, acceptInviteInput, findInvite } from '#app/orgs/invites.server.ts'
import { Field, FormError } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Accept your invitation · Gatehouse' }]

export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findInvite(params.token ?? '')
  return found ? { valid: true as const, email: found.user.email, organization: found.org.name } : { valid: false as const, email: null, organization: null }
}

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await parseForm(request, acceptInviteInput)
  if (!form.ok) return badRequest(form.errors)
  const result = await acceptInvite(params.token ?? '', form.data.password)
  if (!result.ok) return badRequest({ form: 'This invitation has expired or was already used. Ask your administrator for a new one.' })
  // Sign-in then applies the region's policy: where it requires a factor, enrollment comes first.
  throw redirectTo(`/login?notice=invited&region=${encodeURIComponent(result.region)}&email=${encodeURIComponent(result.email)}`)
}

export default function AcceptInvite() {
  const data = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const busy = useNavigation().state !== 'idle'
  const errors = (result?.errors ?? {}) as Record<string, string>
  if (!data.valid) {
    return (
      <section className="card narrow">
        <h1>This invitation does not work</h1>
        <p>It has expired or was already used. Ask your administrator to invite you again.</p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Join {data.organization}</h1>
      <p className="muted">Choose a password for {data.email}.</p>
      <FormError message={errors.form} />
      <Form method="post" noValidate>
        <input type="hidden" name="username" autoComplete="username" value={data.email} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" minLength={12} error={errors.password} required />
        <Field label="Repeat the password" name="confirm" type="password" autoComplete="new-password" error={errors.confirm} required />
        <button type="submit" disabled={busy}>{busy ? 'Saving…' : 'Set password and continue'}</button>
      </Form>
    </section>
  )
}
