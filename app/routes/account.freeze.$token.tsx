import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { clearSessionCookie } from '#app/auth/session.server.ts'
import { consumeVerification, findByToken } from '#app/auth/verification.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { freezeAccount } from '#app/mfa/factors.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Lock my account · Gatehouse' }]

// GET changes nothing: a mail scanner opening the link must not lock anyone out.
export async function loader({ params }: LoaderFunctionArgs) {
  const token = params.token ?? ''
  return { valid: token.length <= 100 && Boolean(await findByToken('freeze', token)) }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const token = params.token ?? ''
  const found = token.length <= 100 ? await findByToken('freeze', token) : undefined
  if (!found?.userId || !(await consumeVerification(found.id))) return data({ errors: { form: 'This link has expired or was already used. Contact support.' } }, { status: 400 })
  await freezeAccount(found.userId, requestMeta(request, context), 'factor_added_notice')
  return data({ frozen: true }, { headers: { 'Set-Cookie': clearSessionCookie() } })
}

export default function Freeze() {
  const { valid } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; frozen?: boolean } | undefined
  if (result?.frozen) {
    return (
      <section className="card narrow">
        <h1>Your account is locked</h1>
        <Notice>Every session was signed out and support has been told. Support will contact you to restore access.</Notice>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>This wasn't me</h1>
      <FormError message={result?.errors?.form} />
      {valid ? (
        <Form method="post">
          <p>If you did not add this sign-in method, lock your account now. Everyone signed in to it is signed out, and support is alerted.</p>
          <button type="submit" className="danger">Lock my account</button>
        </Form>
      ) : <p>This link has expired or was already used. Contact support if something is wrong.</p>}
    </section>
  )
}
