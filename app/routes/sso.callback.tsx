import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { getSignedIn } from '#app/auth/guards.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { handleCallback } from '#app/sso/web.server.ts'

export const meta: MetaFunction = () => [{ title: 'Single sign-on · Gatehouse' }]

/** The identity provider's redirect back (decision 075): signed in, the account link, back from a step-up, or a clear refusal. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const signedIn = await getSignedIn(request)
  return handleCallback(request, signedIn?.session ?? null, requestMeta(request, context))
}

export default function SsoCallback() {
  const { error } = useLoaderData<typeof loader>() as { error?: string }
  return (
    <section className="card narrow">
      <h1>Single sign-on did not complete</h1>
      <div className="banner error" role="alert">{error}</div>
      <p><a href="/login">Back to sign-in</a></p>
    </section>
  )
}
