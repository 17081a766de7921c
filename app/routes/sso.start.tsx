import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requestMeta } from '#app/http/request.server.ts'
import { startFromLink } from '#app/sso/web.server.ts'

export const meta: MetaFunction = () => [{ title: 'Single sign-on · Gatehouse' }]

/** "Continue with <Org> SSO": a plain link (GET), so the redirect to the provider is a navigation, not a form submission. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  return startFromLink(new URL(request.url), requestMeta(request, context))
}

export default function SsoStart() {
  const { error } = useLoaderData<typeof loader>() as { error?: string }
  return (
    <section className="card narrow">
      <h1>Single sign-on</h1>
      <div className="banner error" role="alert">{error}</div>
      <p><a href="/login">Back to sign-in</a></p>
    </section>
  )
}
