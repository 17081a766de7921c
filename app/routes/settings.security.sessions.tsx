import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireUser } from '#app/auth/guards.server.ts'
import { listMemberSessions, signOutEverywhereElse, signOutSession } from '#app/auth/member-sessions.server.ts'
import { clearSessionCookie } from '#app/auth/session.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { FormError, Notice } from '#app/ui/form.tsx'
import { Time } from '#app/ui/time.tsx'
import { ConfirmAction } from '#app/ui/confirm.tsx'

export const meta: MetaFunction = () => [{ title: 'Active sessions · Gatehouse' }]

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('sign_out'), sessionId: z.string().uuid('Choose a session') }),
  z.object({ intent: z.literal('sign_out_others') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  const sessions = await listMemberSessions(user.id, session.id)
  // Signing a session out is confirmed first (?sign-out=<id> or ?sign-out=others), decision 072.
  return { signOut: new URL(request.url).searchParams.get('sign-out'), sessions: sessions.map((x) => ({ ...x, createdAt: x.createdAt.toISOString(), lastSeenAt: x.lastSeenAt.toISOString() })) }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, session } = await requireUser(request)
  const form = await parseForm(request, schema)
  if (!form.ok) return data({ errors: form.errors }, { status: 400 })
  const meta = requestMeta(request, context)
  if (form.data.intent === 'sign_out_others') {
    return { ended: await signOutEverywhereElse({ user, currentSessionId: session.id, meta }) }
  }
  try {
    const { current } = await signOutSession({ user, sessionId: form.data.sessionId, currentSessionId: session.id, meta })
    if (current) throw redirectTo('/login?notice=signed-out', { 'Set-Cookie': clearSessionCookie() })
    return { ended: 1 }
  } catch (e) {
    return formError(e)
  }
}


export default function Sessions() {
  const { sessions, signOut } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>() as { errors?: Record<string, string>; ended?: number } | undefined
  const others = sessions.filter((x) => !x.current).length
  const ending = result?.ended === undefined ? sessions.find((x) => x.id === signOut) : undefined
  const endingOthers = result?.ended === undefined && signOut === 'others' && others > 0
  const label = (x: (typeof sessions)[number]) => `${x.channel === 'api' ? 'The API token' : x.browser} on ${x.system}${x.ip ? ` (${x.ip})` : ''}`
  return (
    <section className="card">
      <h1>Active sessions</h1>
      <p className="muted">
        Where you are signed in: browsers, and API session tokens (the command line). Organization API keys are not sessions; manage them on the organization’s API keys page.
        Adding or removing a sign-in method, or resetting your password, signs you out everywhere else.
      </p>
      {result?.ended !== undefined ? <Notice>{result.ended === 1 ? 'Session signed out.' : `${result.ended} sessions signed out.`}</Notice> : null}
      <FormError message={result?.errors?.form ?? result?.errors?.sessionId} />
      {ending ? (
        <ConfirmAction title={ending.current ? 'Sign out here?' : 'Sign out this session?'} fields={{ intent: 'sign_out', sessionId: ending.id }} confirmLabel={ending.current ? 'Sign out here' : 'Sign out'} busyLabel="Signing out…" cancelTo="/settings/security/sessions">
          {ending.current ? 'You will need to sign in again in this browser.' : `${label(ending)} will need to sign in again.`}
        </ConfirmAction>
      ) : null}
      {endingOthers ? (
        <ConfirmAction title="Sign out everywhere else?" fields={{ intent: 'sign_out_others' }} confirmLabel="Sign out everywhere else" busyLabel="Signing out…" cancelTo="/settings/security/sessions">
          You will need to sign in again on {others === 1 ? '1 other browser or API token' : `${others} other browsers and API tokens`}; you stay signed in here.
        </ConfirmAction>
      ) : null}
      <table>
        <thead><tr><th>Browser</th><th>System</th><th>Address</th><th>Started</th><th>Last seen</th><th /></tr></thead>
        <tbody>
          {sessions.map((x) => (
            <tr key={x.id} data-testid="session" aria-current={x.current ? 'true' : undefined}>
              <td>
                {x.channel === 'api' ? 'API token' : x.browser}
                {x.channel === 'api' && x.browser !== 'Unknown browser' ? <span className="muted"> ({x.browser})</span> : null}
                {x.current ? <> <span className="badge ok">This session</span></> : null}
              </td>
              <td>{x.system}</td>
              <td>{x.ip ?? 'unknown'}</td>
              <td><Time value={x.createdAt} empty="never" /></td>
              <td><Time value={x.lastSeenAt} empty="never" /></td>
              <td>
                <Link to={`?sign-out=${x.id}#confirm`} aria-label={`${x.current ? 'Sign out here' : `Sign out ${label(x)}`}…`}>{x.current ? 'Sign out here…' : 'Sign out…'}</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {others > 0 ? (
        <div style={{ marginTop: '1rem' }}>
          <p className="muted">Ends the other {others === 1 ? 'session' : `${others} sessions`} listed here; you stay signed in on this one.</p>
          <Link to="?sign-out=others#confirm" className="button secondary">Sign out everywhere else…</Link>
        </div>
      ) : <p className="muted">You are signed in only here.</p>}
      <p><Link to="/settings/security">Back to security</Link></p>
    </section>
  )
}
