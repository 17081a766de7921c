/**
 * One i18next instance per language over the page catalogs, shared by the server render, the
 * browser and route `meta` (decision 079). The catalogs are bundled, not fetched: they are small,
 * and a page then renders the same words on the server and at hydration with nothing to wait for.
 * Each instance keeps its language for life (no `changeLanguage`), so requests in different
 * languages never share one's state.
 */
import i18next, { type i18n as I18n, type TFunction } from 'i18next'
import { initReactI18next } from 'react-i18next'
import enPages from './locales/en/pages.json'
import enMessages from './locales/en/messages.json'
import jaPages from './locales/ja/pages.json'
import jaMessages from './locales/ja/messages.json'
import koPages from './locales/ko/pages.json'
import koMessages from './locales/ko/messages.json'
import { DEFAULT_LANGUAGE, isLanguage, type Language } from './languages.ts'

export const PAGE_RESOURCES = {
  en: { pages: enPages, messages: enMessages },
  ja: { pages: jaPages, messages: jaMessages },
  ko: { pages: koPages, messages: koMessages },
} as const

const instances = new Map<Language, I18n>()

export function i18nFor(language: string | null | undefined): I18n {
  const lng = isLanguage(language) ? language : DEFAULT_LANGUAGE
  let instance = instances.get(lng)
  if (!instance) {
    instance = i18next.createInstance()
    instance.use(initReactI18next).init({
      lng,
      fallbackLng: DEFAULT_LANGUAGE,
      supportedLngs: ['en', 'ja', 'ko'],
      resources: PAGE_RESOURCES,
      ns: ['pages', 'messages'],
      defaultNS: 'pages',
      // Catalogs are here already: initialise synchronously, so the first render has its words.
      initImmediate: false,
      // React escapes; mail is plain text.
      interpolation: { escapeValue: false },
      react: { useSuspense: false },
      returnNull: false,
    })
    instances.set(lng, instance)
  }
  return instance
}

/** A page title in the page's language, for route `meta` (which cannot use hooks). */
export function pageTitle(language: string | null | undefined, key: string): string {
  return `${i18nFor(language).t(key, { ns: 'pages' })} · Gatehouse`
}

/**
 * A message the server wrote in English (a zod message, a domain message) in the reader's language,
 * when the `messages` catalog has it; any other stays as written. The English text is the key.
 */
export function translateMessage(t: TFunction, message: string): string {
  const options = { ns: 'messages', keySeparator: false, nsSeparator: false } as const
  const exact = t(message, { ...options, defaultValue: '' }) as string
  if (exact) return exact
  // The email code's "N tries left." follows its message (app/mfa/verifier.server.ts).
  const tries = /^(.*) (\d+) tr(?:y|ies) left\.$/.exec(message)
  if (tries) return translateMessage(t, tries[1]) + (t('triesLeft', { ns: 'pages', count: Number(tries[2]) }) as string)
  // Messages with a value in them ("We sent a code to {{to}}.") match their catalog key as a pattern.
  for (const { key, names, pattern } of messagePatterns()) {
    const match = pattern.exec(message)
    if (match) return t(key, { ...options, defaultValue: message, ...Object.fromEntries(names.map((n, i) => [n, translateValue(t, n, match[i + 1])])) }) as string
  }
  return message
}

/**
 * A value of a message made of parts: the wait in words; a message inside a message ({{reason}}:
 * "Your password is set, but you cannot sign in yet. …", "The test failed: …"); the words a domain
 * sentence puts in ({{orgs}} "Your organization", {{who}}, {{methods}} "an authenticator app or a
 * security key"), when the catalog has them. Organization names and addresses stay as written.
 */
function translateValue(t: TFunction, name: string, value: string): string {
  if (name === 'wait') return translateWait(t, value)
  return TRANSLATED_VALUES.has(name) ? translateMessage(t, value) : value
}
const TRANSLATED_VALUES = new Set(['reason', 'orgs', 'who', 'methods'])

/** A wait as app/auth/rate-limit.server.ts's waitInWords writes it ("5 minutes", "1 hour"), in the reader's language. */
function translateWait(t: TFunction, wait: string): string {
  const words = /^(\d+) (second|minute|hour)s?$/.exec(wait)
  return words ? (t(`wait.${words[2]}s`, { ns: 'pages', count: Number(words[1]) }) as string) : wait
}

let patterns: { key: string; names: string[]; pattern: RegExp }[] | null = null
function messagePatterns() {
  patterns ??= Object.keys(enMessages)
    .filter((key) => key.includes('{{'))
    .map((key) => {
      const names: string[] = []
      const source = key.split(/\{\{(\w+)\}\}/).map((part, i) => (i % 2 ? (names.push(part), '(.+?)') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')
      return { key, names, pattern: new RegExp(`^${source}$`) }
    })
  return patterns
}

/** The reader's language from the root loader's data, as route `meta` receives it in `matches`. */
export function rootLanguage(matches: ReadonlyArray<{ id: string; data?: unknown } | undefined>): string | undefined {
  const root = matches.find((m) => m?.id === 'root')
  return (root?.data as { language?: string } | undefined)?.language
}

/**
 * The page's language for route `meta`: a route that knows better than the root (the freeze page
 * reads its link's owner) puts `language` in its loader data; else the root's.
 */
export function routeLanguage(matches: ReadonlyArray<{ id: string; data?: unknown } | undefined>): string | undefined {
  const leaf = matches[matches.length - 1]
  const own = (leaf?.data as { language?: unknown } | undefined)?.language
  return typeof own === 'string' ? own : rootLanguage(matches)
}
