/**
 * Cross-site request forgery: every state-changing request that rides on cookies must come from
 * one of Gatehouse's own origins. Browsers send Origin on every POST (and Sec-Fetch-Site);
 * a request with neither is refused too. /api takes bearer tokens only, never cookies, so it
 * is outside this check. SameSite=Lax cookies are the second layer.
 */
import { config } from '#app/config/env.server.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const trustedOrigins = new Set([config.appOrigin, ...config.regions.map((r) => r.origin)])

export function csrfRefusal(method: string, path: string, headers: { origin?: string | null; referer?: string | null; secFetchSite?: string | null }): string | null {
  if (SAFE_METHODS.has(method.toUpperCase())) return null
  if (path === '/api' || path.startsWith('/api/')) return null
  if (headers.secFetchSite === 'cross-site') return 'cross-site request refused'
  // "null" is an opaque origin (a sandboxed frame, a data: URL, a cross-site redirect): never one
  // of ours, whatever the Referer says, since our own forms always send their origin (decision 060).
  if (headers.origin === 'null') return 'request from an opaque origin (Origin: null) refused'
  let origin = headers.origin || null
  if (!origin && headers.referer) {
    try {
      origin = new URL(headers.referer).origin
    } catch {
      origin = null
    }
  }
  if (!origin) return 'request without an Origin header refused'
  if (!trustedOrigins.has(origin)) return `origin ${origin} is not allowed`
  return null
}
