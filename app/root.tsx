// First: zod must be configured before any route module builds a schema (decision 065).
import '#app/ui/zod-without-eval.ts'
import type { LinksFunction, LoaderFunctionArgs } from '@remix-run/node'
import { Form, Link, Links, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useLoaderData, useRouteError } from '@remix-run/react'
import { getSignedIn } from '#app/auth/guards.server.ts'
import { useNonce } from '#app/ui/nonce.tsx'

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: '/styles.css' },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

export async function loader({ request }: LoaderFunctionArgs) {
  const signedIn = await getSignedIn(request)
  return {
    user: signedIn && signedIn.session.level !== 'enroll_only' ? { name: signedIn.user.name, email: signedIn.user.email, region: signedIn.user.region, support: signedIn.user.platformRole !== 'none' } : null,
  }
}

function Shell({ children, user, title }: { children: React.ReactNode; user?: { name: string; email: string; support: boolean } | null; title?: string }) {
  // The Content-Security-Policy lets only scripts with this request's nonce run (decision 059).
  const nonce = useNonce()
  return (
    <html lang="en">
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
        <a href="#main" className="skip-link">Skip to content</a>
        <header className="topbar">
          <Link to="/" className="brand">Gatehouse</Link>
          {user ? (
            <nav aria-label="Account">
              <Link to="/settings/security">Security</Link>
              {user.support ? <Link to="/support">Support</Link> : null}
              <span className="muted" title={user.email}>{user.name}</span>
              <Form method="post" action="/logout">
                <button type="submit" className="link">Sign out</button>
              </Form>
            </nav>
          ) : null}
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
