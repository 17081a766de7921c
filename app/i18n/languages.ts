/**
 * The languages of the member pages and their mail (decision 079). Browser-safe: no catalog here.
 * A region's language is its default; an explicit choice (the switch, a cookie) wins over it.
 */
export const LANGUAGES = ['en', 'ja', 'ko'] as const
export type Language = (typeof LANGUAGES)[number]
export const DEFAULT_LANGUAGE: Language = 'en'

/** Each language named in itself, as the switch shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', ja: '日本語', ko: '한국어' }

const REGION_LANGUAGES: Record<string, Language> = { jp: 'ja', kr: 'ko' }

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value)
}

/** The language a region's members read by default; null where it is English by default too. */
export function languageOfRegion(region: string | null | undefined): Language | null {
  return (region && REGION_LANGUAGES[region]) || null
}
