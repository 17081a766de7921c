import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { completeEmailLink, findEmailLink, loadPendingSignIn } from '#app/sign-in/web.server.ts'
import { FormError } from '#app/ui/form.tsx'

export const meta: MetaFunction = () => [{ title: 'Finish signing in · Gatehouse' }]

// GET changes nothing (mail scanners open links); only the POST from the browser holding the pending sign-in completes it.
export async function loader({ params }: LoaderFunctionArgs) {
  return { valid: Boolean(await findEmailLink(params.token ?? '')) }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const outcome = await completeEmailLink(await loadPendingSignIn(request), params.token ?? '', requestMeta(request, context))
  if (outcome.kind === 'redirect') throw redirectTo(outcome.location, outcome.headers)
  return data(outcome.body, { status: outcome.status })
}

export default function EmailLink() {
  const { valid } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string> } | undefined
  return (
    <section className="card narrow">
      <h1>Finish signing in</h1>
      <FormError message={result?.errors?.form} />
      {valid ? (
        <Form method="post">
          <p>Continue to finish signing in to Gatehouse in this browser.</p>
          <button type="submit">Continue signing in</button>
        </Form>
      ) : (
        <p>This sign-in link has expired or was already used. <a href="/login">Sign in again</a>.</p>
      )}
    </section>
  )
}
