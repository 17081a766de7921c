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
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'
import { ConfirmAction } from '#app/ui/confirm.tsx'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'security.sessions') }]
export const handle = { i18n: 'pages' }

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
  const { t } = useTranslation()
  const ending = result?.ended === undefined ? sessions.find((x) => x.id === signOut) : undefined
  const endingOthers = result?.ended === undefined && signOut === 'others' && others > 0
  const browser = (name: string) => (name === 'Unknown browser' ? t('sessions.unknownBrowser') : name)
  const label = (x: (typeof sessions)[number]) => `${t('sessions.on', { browser: x.channel === 'api' ? t('sessions.theApiToken') : browser(x.browser), system: x.system })}${x.ip ? ` (${x.ip})` : ''}`
  return (
    <section className="card">
      <h1>{t('security.sessions')}</h1>
      <p className="muted">
        {t('sessions.hint')}
      </p>
      {result?.ended !== undefined ? <Notice>{result.ended === 1 ? t('sessions.endedOne') : t('sessions.ended', { count: result.ended })}</Notice> : null}
      <FormError message={result?.errors?.form ?? result?.errors?.sessionId} />
      {ending ? (
        <ConfirmAction title={ending.current ? t('sessions.signOutHereTitle') : t('sessions.signOutThisTitle')} fields={{ intent: 'sign_out', sessionId: ending.id }} confirmLabel={ending.current ? t('sessions.signOutHere') : t('sessions.signOut')} busyLabel={t('sessions.signingOut')} cancelTo="/settings/security/sessions">
          {ending.current ? t('sessions.againHere') : t('sessions.againThere', { session: label(ending) })}
        </ConfirmAction>
      ) : null}
      {endingOthers ? (
        <ConfirmAction title={t('sessions.othersTitle')} fields={{ intent: 'sign_out_others' }} confirmLabel={t('sessions.others')} busyLabel={t('sessions.signingOut')} cancelTo="/settings/security/sessions">
          {others === 1 ? t('sessions.othersOne') : t('sessions.othersMany', { count: others })}
        </ConfirmAction>
      ) : null}
      <table>
        <thead><tr><th>{t('sessions.browser')}</th><th>{t('sessions.system')}</th><th>{t('sessions.address')}</th><th>{t('sessions.started')}</th><th>{t('sessions.lastSeen')}</th><th /></tr></thead>
        <tbody>
          {sessions.map((x) => (
            <tr key={x.id} data-testid="session" aria-current={x.current ? 'true' : undefined}>
              <td>
                {x.channel === 'api' ? t('sessions.apiToken') : browser(x.browser)}
                {x.channel === 'api' && x.browser !== 'Unknown browser' ? <span className="muted"> ({browser(x.browser)})</span> : null}
                {x.current ? <> <span className="badge ok">{t('sessions.thisSession')}</span></> : null}
              </td>
              <td>{x.system}</td>
              <td>{x.ip ?? t('sessions.unknown')}</td>
              <td><Time value={x.createdAt} empty={t('security.never')} /></td>
              <td><Time value={x.lastSeenAt} empty={t('security.never')} /></td>
              <td>
                <Link to={`?sign-out=${x.id}#confirm`} aria-label={x.current ? t('sessions.signOutHereLink') : t('sessions.signOutLabel', { session: label(x) })}>{x.current ? t('sessions.signOutHereLink') : t('sessions.signOutLink')}</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {others > 0 ? (
        <div style={{ marginTop: '1rem' }}>
          <p className="muted">{others === 1 ? t('sessions.endsOne') : t('sessions.endsMany', { count: others })}</p>
          <Link to="?sign-out=others#confirm" className="button secondary">{t('sessions.othersLink')}</Link>
        </div>
      ) : <p className="muted">{t('sessions.onlyHere')}</p>}
      <p><Link to="/settings/security">{t('sessions.back')}</Link></p>
    </section>
  )
}
