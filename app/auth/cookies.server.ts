/** Cookie helpers: HttpOnly, SameSite=Lax, and Secure with the __Host- prefix when served over https. */
import { config } from '#app/config/env.server.ts'

const prefix = config.secureCookies ? '__Host-' : ''

export const COOKIE = {
  session: `${prefix}gh_session`,
  pending: `${prefix}gh_pending`,
  device: `${prefix}gh_device`,
  /** The region last chosen on the sign-in form: a convenience, not a secret (decision 073). */
  region: `${prefix}gh_region`,
  /** A single sign-on in progress (decision 075): the redirect to the provider, then an account link waiting for proof. */
  sso: `${prefix}gh_sso`,
  /** The language chosen with the switch on the member pages (decision 079): a convenience, not a secret. */
  language: `${prefix}gh_lang`,
} as const

/**
 * The cookie's value; undefined when it is missing, badly encoded, or sent more than once: we
 * set each cookie once, so a second one was planted (by a sibling host over plain http, where
 * the __Host- prefix is not available), and neither can be trusted to be ours (decision 060).
 */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie')
  if (!header) return undefined
  const values: string[] = []
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) values.push(part.slice(i + 1).trim())
  }
  if (values.length !== 1) return undefined
  try {
    return decodeURIComponent(values[0])
  } catch {
    return undefined
  }
}

export function setCookie(name: string, value: string, maxAgeSeconds?: number): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax']
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.floor(maxAgeSeconds)}`)
  if (config.secureCookies) parts.push('Secure')
  return parts.join('; ')
}

export function clearCookie(name: string): string {
  return setCookie(name, '', 0)
}

/** Remembers the region chosen on the sign-in form for a year, so the form opens on it next time. */
export const rememberRegion = (region: string) => setCookie(COOKIE.region, region, 365 * 24 * 3600)

/** The remembered region, when it is still one of `codes`. */
export function rememberedRegion(request: Request, codes: string[]): string | undefined {
  const region = readCookie(request, COOKIE.region)
  return region && codes.includes(region) ? region : undefined
}
