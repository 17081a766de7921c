import type { RequestMeta } from '#app/audit/record.server.ts'
import { config } from '#app/config/env.server.ts'

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

/** A redirect target longer than this is not one of ours (the step-up resume address is the longest). */
const MAX_TARGET_LENGTH = 8192
/** C0 controls, DEL and backslashes: browsers drop tabs and newlines and read a backslash as "/". */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f\\]/

/**
 * Where to send someone after sign-in or step-up: the one place that decides (decision 060).
 * Keeps only a path on this app's own origin (path, query and fragment); anything else, and
 * anything a browser might read differently than we do, gives `fallback`. The target must start
 * with exactly one "/", and its path may hold no control character or backslash, written out or
 * percent-encoded: "/%09/evil.example" reaches a browser as "/<tab>/evil.example", which it reads
 * as "//evil.example", another site.
 */
export function safeRedirectPath(to: FormDataEntryValue | string | null | undefined, fallback = '/'): string {
  if (typeof to !== 'string' || to.length > MAX_TARGET_LENGTH) return fallback
  if (!to.startsWith('/') || to.startsWith('//') || UNSAFE_CHARACTERS.test(to)) return fallback
  const path = to.split(/[?#]/, 1)[0]
  let decodedPath: string
  try {
    decodedPath = decodeURIComponent(path)
  } catch {
    return fallback
  }
  if (decodedPath.startsWith('//') || UNSAFE_CHARACTERS.test(decodedPath)) return fallback
  const own = new URL(config.appOrigin)
  let url: URL
  try {
    url = new URL(to, own)
  } catch {
    return fallback
  }
  // Dot segments can make "//" of what was one slash ("/..//evil.example"): check what is sent.
  if (url.origin !== own.origin || url.pathname.startsWith('//')) return fallback
  return url.pathname + url.search + url.hash
}
