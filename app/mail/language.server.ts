/**
 * The language of an email (decision 079). Mail is rendered by the worker, with no request and no
 * cookie: the recipient's region decides (jp → Japanese, kr → Korean, else English), read from the
 * user the email is for; an email to no account (a new member's invitation) takes its `region` param.
 */
import { eq } from 'drizzle-orm'
import i18next, { type TFunction } from 'i18next'
import { db, schema } from '#db/client.ts'
import { DEFAULT_LANGUAGE, languageOfRegion, type Language } from '#app/i18n/languages.ts'
import en from '#app/i18n/locales/en/mail.json'
import ja from '#app/i18n/locales/ja/mail.json'
import ko from '#app/i18n/locales/ko/mail.json'

export type MailT = TFunction

const mail = i18next.createInstance()
mail.init({
  lng: DEFAULT_LANGUAGE,
  fallbackLng: DEFAULT_LANGUAGE,
  resources: { en: { mail: en }, ja: { mail: ja }, ko: { mail: ko } },
  ns: ['mail'],
  defaultNS: 'mail',
  initImmediate: false,
  // Plain text: nothing to escape, and a value's own braces or colons stay as they are.
  interpolation: { escapeValue: false },
  nsSeparator: false,
})

/** The mail words in `language`: `t('factor_added.subject', {...})`. */
export function mailT(language: Language): MailT {
  return mail.getFixedT(language)
}

export async function mailLanguage(userId: string | null, params: Record<string, unknown>): Promise<Language> {
  if (userId) {
    const [user] = await db.select({ region: schema.users.region }).from(schema.users).where(eq(schema.users.id, userId))
    if (user) return languageOfRegion(user.region) ?? DEFAULT_LANGUAGE
  }
  return languageOfRegion(typeof params.region === 'string' ? params.region : null) ?? DEFAULT_LANGUAGE
}
