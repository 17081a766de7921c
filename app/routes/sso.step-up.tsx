import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { startStepUpAtProvider } from '#app/sso/web.server.ts'

export const meta: MetaFunction = () => [{ title: 'Confirm at your identity provider · Gatehouse' }]

/** Step-up by signing in again at the organization's identity provider (max_age=0; the MFA claim is checked again at the callback). */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  return startStepUpAtProvider(user, session, new URL(request.url).searchParams.get('redirectTo') ?? undefined, requestMeta(request, context))
}

export default function SsoStepUp() {
  const { error } = useLoaderData<typeof loader>() as { error?: string }
  return (
    <section className="card narrow">
      <h1>Confirm it’s you</h1>
      <div className="banner error" role="alert">{error}</div>
      <p><a href="/settings/security/confirm">Confirm with your own factor instead</a></p>
    </section>
  )
}
