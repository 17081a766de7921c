/**
 * Which language a page is in (decision 079): an explicit choice from the switch (a cookie) wins;
 * else the signed-in member's region (jp → Japanese, kr → Korean); else, before sign-in, the region
 * last chosen on the sign-in form; else the browser's Accept-Language; else English.
 * Mail has no request: it takes the recipient's region (app/mail/language.server.ts).
 */
import { RemixI18Next } from 'remix-i18next/server'
import { COOKIE, readCookie, setCookie } from '#app/auth/cookies.server.ts'
import { DEFAULT_LANGUAGE, isLanguage, LANGUAGES, languageOfRegion, type Language } from './languages.ts'

/** The language chosen with the switch, for a year; a convenience, not a secret. */
export const rememberLanguage = (language: Language) => setCookie(COOKIE.language, language, 365 * 24 * 3600)

export function chosenLanguage(request: Request): Language | null {
  const value = readCookie(request, COOKIE.language)
  return isLanguage(value) ? value : null
}

/** `region`: the signed-in member's (or null before sign-in). */
export async function pageLanguage(request: Request, region: string | null | undefined): Promise<Language> {
  const preferred = chosenLanguage(request) ?? languageOfRegion(region ?? readCookie(request, COOKIE.region))
  if (preferred) return preferred
  // remix-i18next reads Accept-Language (quality values, loose matches such as ja-JP → ja).
  const detector = new RemixI18Next({ detection: { supportedLanguages: [...LANGUAGES], fallbackLanguage: DEFAULT_LANGUAGE, order: ['header'] } })
  const detected = await detector.getLocale(request)
  return isLanguage(detected) ? detected : DEFAULT_LANGUAGE
}
