import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { formError } from '#app/http/domain-error.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { findFreezeLink, freezeAccount } from '#app/support/freeze.server.ts'
import { FormError } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Freeze my account · Gatehouse' }]

// GET changes nothing: mail scanners open links. Only the button's POST freezes.
export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findFreezeLink(params.token ?? '')
  return { valid: Boolean(found), email: found?.user.email ?? null }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  try {
    const { email } = await freezeAccount(params.token ?? '', requestMeta(request, context))
    return { frozen: true as const, email }
  } catch (e) {
    return formError(e)
  }
}

export default function Freeze() {
  const { valid, email } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  if (result && 'frozen' in result) {
    return (
      <section className="card narrow">
        <h1>Your account is frozen</h1>
        <p>Nobody can sign in to {result.email} now, and every session was signed out. Contact support: they will check who you are and help you back in.</p>
      </section>
    )
  }
  if (!valid) {
    return (
      <section className="card narrow">
        <h1>This link does not work</h1>
        <p>The link has expired or was already used. If you think someone else is in your account, contact support.</p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Freeze your account?</h1>
      <FormError message={result && 'errors' in result ? (result.errors as Record<string, string>).form : null} />
      <p>If you did not ask for the reset of your two-factor authentication, freeze {email} now. Nobody will be able to sign in until support has talked to you.</p>
      <Form method="post">
        <button type="submit" className="danger">Freeze my account</button>
      </Form>
    </section>
  )
}
