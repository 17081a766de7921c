// First: zod must be configured before any route module builds a schema (decision 065).
import '#app/ui/zod-without-eval.ts'
import type { LinksFunction, LoaderFunctionArgs } from '@remix-run/node'
import { Form, Link, Links, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useLoaderData, useMatches, useRouteError, useRouteLoaderData } from '@remix-run/react'
import { I18nextProvider, useTranslation } from 'react-i18next'
import { getSignedIn } from '#app/auth/guards.server.ts'
import { pageLanguage } from '#app/i18n/language.server.ts'
import { i18nFor } from '#app/i18n/i18n.ts'
import { DEFAULT_LANGUAGE, isLanguage, type Language } from '#app/i18n/languages.ts'
import { LanguageSwitch } from '#app/ui/language-switch.tsx'
import { useNonce } from '#app/ui/nonce.tsx'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: '/styles.css' },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

export async function loader({ request }: LoaderFunctionArgs) {
  const signedIn = await getSignedIn(request)
  return {
    // The reader's language (decision 079); pages that are translated (handle.i18n) render in it.
    language: await pageLanguage(request, signedIn?.user.region),
    user: signedIn && signedIn.session.level !== 'enroll_only' ? { name: signedIn.user.name, email: signedIn.user.email, region: signedIn.user.region, support: signedIn.user.platformRole !== 'none' } : null,
  }
}

/**
 * The page's language: the reader's on the member pages, which say so with `handle.i18n` (the
 * convention of remix-i18next), and English on the others (admin and support pages are English).
 * Server and browser compute it from the same matches, so hydration sees the same words.
 */
function usePageLanguage(): { language: Language; translated: boolean } {
  const root = useRouteLoaderData<typeof loader>('root')
  const matches = useMatches()
  const leaf = matches[matches.length - 1]
  const translated = Boolean(leaf && (leaf.handle as { i18n?: unknown } | undefined)?.i18n)
  // A translated route may know the language better than the root (the freeze page: its link's owner).
  const own = (leaf?.data as { language?: unknown } | null | undefined)?.language
  const language = isLanguage(own) ? own : root?.language
  return { language: translated && language ? language : DEFAULT_LANGUAGE, translated }
}

function Shell(props: { children: React.ReactNode; user?: { name: string; email: string; support: boolean } | null; title?: string }) {
  const { language, translated } = usePageLanguage()
  return (
    <I18nextProvider i18n={i18nFor(language)}>
      <Document {...props} language={language} translated={translated} />
    </I18nextProvider>
  )
}

function Document({ children, user, title, language, translated }: { children: React.ReactNode; user?: { name: string; email: string; support: boolean } | null; title?: string; language: Language; translated: boolean }) {
  // The Content-Security-Policy lets only scripts with this request's nonce run (decision 059).
  const nonce = useNonce()
  const { t } = useTranslation()
  return (
    <html lang={language}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* An error page has no route meta of its own: every page needs a title (WCAG 2.4.2). */}
        {title ? <title>{title}</title> : null}
        <Meta />
        <Links />
      </head>
      <body>
        {/* The first thing a keyboard reaches: past the top bar, straight to the page (decision 074). */}
        <a href="#main" className="skip-link">{t('shell.skip')}</a>
        <header className="topbar">
          <Link to="/" className="brand">Gatehouse</Link>
          {user ? (
            <nav aria-label={t('shell.account')}>
              <Link to="/settings/security">{t('shell.security')}</Link>
              {user.support ? <Link to="/support">Support</Link> : null}
              <span className="muted" title={user.email}>{user.name}</span>
              <Form method="post" action="/logout">
                <button type="submit" className="link">{t('shell.signOut')}</button>
              </Form>
            </nav>
          ) : null}
          {translated ? <LanguageSwitch current={language} /> : null}
        </header>
        <main id="main" tabIndex={-1}>{children}</main>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  )
}

export default function App() {
  const { user } = useLoaderData<typeof loader>()
  return (
    <Shell user={user}>
      <Outlet />
    </Shell>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const status = isRouteErrorResponse(error) ? error.status : 500
  const title = status === 404 ? 'Page not found' : status === 403 ? 'Not allowed' : 'Something went wrong'
  const detail = status === 404 ? 'There is nothing here, or you do not have access to it.' : isRouteErrorResponse(error) && typeof error.data === 'string' ? error.data : 'Please try again. If it keeps happening, contact support.'
  return (
    <Shell title={`${title} · Gatehouse`}>
      <section className="card narrow">
        <h1>{title}</h1>
        <p>{detail}</p>
        <p><Link to="/">Back to Gatehouse</Link></p>
      </section>
    </Shell>
  )
}
