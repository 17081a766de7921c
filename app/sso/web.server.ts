/**
 * The web adapter of single sign-on (decision 075): the redirects with the gh_sso cookie, the
 * callback's answers, the login page's routing by domain. The rules live in sign-in.server.ts and
 * app/sign-in/flow.server.ts; nothing here decides. A DomainError becomes a page with its message
 * and status (400 for a failed check, 502 for a provider that cannot be reached), never a 500.
 */
import { data } from '@remix-run/node'
import type { RequestMeta } from '#app/audit/record.server.ts'
import { COOKIE, clearCookie, readCookie, setCookie } from '#app/auth/cookies.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { isDomainError } from '#app/errors.ts'
import { httpStatus } from '#app/http/domain-error.server.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { ssoRequiredMessage } from '#app/sign-in/flow.server.ts'
import { beginSignInWithSso } from '#app/sign-in/web.server.ts'
import { findSsoForEmail } from './config.server.ts'
import { completeSso, loadPendingLink, proveAndLink, SSO_TTL_SECONDS, startSsoSignIn, startSsoStepUp, type PendingLink, type Redirect } from './sign-in.server.ts'

/** What the SSO pages render: a refusal's message and code, the login page's SSO offer, the link form's errors. */
export type SsoPageData = {
  error?: string
  code?: string
  errors?: Record<string, string>
  values?: Record<string, unknown>
  sso?: { orgName: string; href: string }
  ended?: boolean
}
type Answer = Response | ReturnType<typeof data<SsoPageData>>

const page = (body: SsoPageData, init: ResponseInit) => data<SsoPageData>(body, init)

const toProvider = (r: Redirect) => redirectTo(r.location, { 'Set-Cookie': setCookie(COOKIE.sso, r.cookieToken, SSO_TTL_SECONDS) })

/** A refusal as a page: the message and the status the error code maps to. */
export const ssoErrorPage = (e: unknown) => {
  if (!isDomainError(e)) throw e
  return page({ error: e.message, code: e.code }, { status: httpStatus(e.code), headers: { 'Set-Cookie': clearCookie(COOKIE.sso) } })
}

/** "/sso/start?email=…": the email's organization's provider, for the "Continue with … SSO" link. */
export const ssoStartHref = (email: string, redirectTo?: string) =>
  `/sso/start?${new URLSearchParams({ email, ...(redirectTo ? { redirectTo } : {}) })}`

export async function startFromLink(url: URL, meta: RequestMeta): Promise<Answer> {
  const email = url.searchParams.get('email') ?? ''
  const route = email.length <= 254 ? await findSsoForEmail(email) : null
  if (!route) return page({ error: 'Single sign-on is not set up for that address. Sign in with your password.', code: 'not_found' }, { status: 404 })
  try {
    return toProvider(await startSsoSignIn({ orgId: route.orgId, email, returnTo: url.searchParams.get('redirectTo') ?? undefined, meta }))
  } catch (e) {
    return ssoErrorPage(e)
  }
}

/**
 * The login page's routing by domain, before the password step: an address whose domain signs in
 * through SSO is sent to its provider when SSO is required and no password was typed (the owner's
 * break-glass types one), or offered "Continue with <Org> SSO" when SSO is optional and no password
 * was typed. Null: go on with the password sign-in.
 */
export async function routeLoginToSso(request: Request, meta: RequestMeta): Promise<Answer | null> {
  let form: FormData
  try {
    form = await request.clone().formData()
  } catch {
    return null
  }
  const email = String(form.get('email') ?? '').trim()
  const password = String(form.get('password') ?? '')
  const returnTo = String(form.get('redirectTo') ?? '') || undefined
  if (!email || email.length > 254 || password) return null
  const route = await findSsoForEmail(email)
  if (!route) return null
  if (route.ssoRequired || form.get('intent') === 'sso') {
    try {
      return toProvider(await startSsoSignIn({ orgId: route.orgId, email, returnTo, meta }))
    } catch (e) {
      const refused = ssoErrorPage(e)
      return page({ errors: { form: refused.data.error ?? '' }, values: { email, region: form.get('region') } }, { status: refused.init?.status ?? 502 })
    }
  }
  return page({ sso: { orgName: route.orgName, href: ssoStartHref(email, returnTo) }, values: { email, region: form.get('region') }, errors: {} }, { status: 200 })
}

/** The SSO pointer shown with a refused password sign-in (decision 075). */
export async function ssoPointer(email: string, returnTo?: string) {
  const route = await findSsoForEmail(email)
  return route ? { orgName: route.orgName, href: ssoStartHref(email, returnTo), message: ssoRequiredMessage(route) } : null
}

/** The callback: a session (or the second step), the link page, or back after a step-up. */
export async function handleCallback(request: Request, session: Session | null, meta: RequestMeta): Promise<Answer> {
  try {
    const outcome = await completeSso({ url: new URL(request.url), cookieToken: readCookie(request, COOKIE.sso), session, meta })
    if (outcome.kind === 'link') return redirectTo('/sso/link', { 'Set-Cookie': setCookie(COOKIE.sso, outcome.cookieToken, SSO_TTL_SECONDS) })
    if (outcome.kind === 'stepped_up') return redirectTo(outcome.returnTo, { 'Set-Cookie': clearCookie(COOKIE.sso) })
    return signedIn(await beginSignInWithSso(outcome.userId, { meta, redirectTo: outcome.returnTo, sso: outcome.sso }))
  } catch (e) {
    return ssoErrorPage(e)
  }
}

function signedIn(result: Awaited<ReturnType<typeof beginSignInWithSso>>): Answer {
  if (!result.ok) return page({ error: result.message, code: 'refused' }, { status: result.status, headers: { 'Set-Cookie': clearCookie(COOKIE.sso) } })
  result.response.headers.append('Set-Cookie', clearCookie(COOKIE.sso))
  return result.response
}

export const loadLink = (request: Request): Promise<PendingLink | null> => loadPendingLink(readCookie(request, COOKIE.sso))

export async function handleLinkForm(link: PendingLink, proof: { password: string } | { code: string }, meta: RequestMeta): Promise<Answer> {
  const result = await proveAndLink(link, proof, meta)
  if (result.kind === 'refused') {
    const ended = result.attemptsLeft === 0
    return page({ errors: { [result.field]: result.message }, ended }, { status: 400, headers: ended ? { 'Set-Cookie': clearCookie(COOKIE.sso) } : {} })
  }
  return signedIn(await beginSignInWithSso(result.userId, { meta, redirectTo: result.returnTo, sso: result.sso }))
}

export async function startStepUpAtProvider(user: User, session: Session, returnTo: string | undefined, meta: RequestMeta): Promise<Answer> {
  try {
    return toProvider(await startSsoStepUp({ user, session, returnTo, meta }))
  } catch (e) {
    return ssoErrorPage(e)
  }
}
