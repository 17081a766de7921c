import type { RequestMeta } from '#app/audit/record.server.ts'

declare module '@remix-run/node' {
  interface AppLoadContext {
    /** Client address as seen by the server (X-Forwarded-For only when TRUST_PROXY is set). */
    ip: string | null
  }
}

export function requestMeta(request: Request, context: { ip?: string | null } | undefined): RequestMeta {
  return { ip: context?.ip ?? null, userAgent: request.headers.get('user-agent') }
}

/** A redirect Response without importing Remix into shared modules. */
export function redirectTo(location: string, headers: HeadersInit = {}): Response {
  const h = new Headers(headers)
  h.set('Location', location)
  return new Response(null, { status: 302, headers: h })
}

export function notFound(message = 'Not found'): Response {
  return new Response(message, { status: 404, statusText: 'Not Found' })
}

/** Only same-site relative paths: never an open redirect. */
export function safeRedirectPath(to: FormDataEntryValue | string | null | undefined, fallback = '/'): string {
  if (typeof to !== 'string' || !to.startsWith('/') || to.startsWith('//') || to.startsWith('/\\')) return fallback
  return to
}
