import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { ACCESS_CODE_METHOD } from '#app/auth/session.server.ts'
import { listFactors } from '#app/mfa/factors.server.ts'
import { ENROLLMENT_CLOSED_MESSAGE } from '#app/mfa/enrollment.server.ts'
import { loadEffectivePolicy } from '#app/policy/member-status.server.ts'

export const meta: MetaFunction = () => [{ title: 'Set up two-factor authentication · Gatehouse' }]

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const [factors, policy] = await Promise.all([listFactors(user.id), loadEffectivePolicy(user.id)])
  // Offer only what the member's organizations allow (all of it when no policy restricts).
  const allowed = policy.allowedMethods
  // Disabled: no enrollment is offered (staff are never under disabled).
  const closed = policy.mode === 'disabled' && policy.status !== 'exempt' ? ENROLLMENT_CLOSED_MESSAGE : null
  return {
    closed,
    enrollOnly: session.level === 'enroll_only',
    // Signed in with a temporary access code (decision 070): here to add a new app or key.
    accessCode: session.level === 'enroll_only' && session.secondFactorMethod === ACCESS_CODE_METHOD,
    staff: user.platformRole !== 'none',
    hasTotp: Boolean(factors.totp),
    keys: factors.keys.length,
    offerTotp: !closed && allowed.includes('totp'),
    offerKeys: !closed && allowed.includes('webauthn'),
    organizations: policy.pendingOrganizations,
  }
}

export default function Enroll() {
  const d = useLoaderData<typeof loader>()
  return (
    <section className="card narrow">
      <h1>Set up two-factor authentication</h1>
      {d.accessCode ? (
        <p className="banner info" role="status">You signed in with a temporary access code. Add a new authenticator app or security key now: for the next 15 minutes this page and the set-up pages are all you can reach. Your other factors, recovery codes and remembered devices stay until you remove them.</p>
      ) : d.enrollOnly ? (
        <p>{d.staff ? 'Support and administrator accounts need an authenticator app or a security key.' : `${d.organizations.join(' and ') || 'Your organization'} requires a second step at sign-in.`} Set one up to continue. This page is all you can reach until then (for 15 minutes).</p>
      ) : d.closed ? <p className="banner" role="status">{d.closed}</p> : <p>Choose a method to add.</p>}
      <ul>
        {d.offerTotp ? <li><Link to="/settings/security/totp">Authenticator app</Link> {d.hasTotp ? <span className="badge ok">set up</span> : null} — codes from an app on your phone.</li> : null}
        {d.offerKeys ? <li><Link to="/settings/security/keys">Security key or passkey</Link> {d.keys ? <span className="badge ok">{d.keys} added</span> : null} — a USB/NFC key, Touch ID, Windows Hello.</li> : null}
      </ul>
      <Form method="post" action="/logout"><button type="submit" className="link">Sign out</button></Form>
    </section>
  )
}
