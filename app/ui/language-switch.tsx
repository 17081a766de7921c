/**
 * English / 日本語 / 한국어 on the member pages (decision 079): a plain form, so it works without
 * script; the choice is kept in a cookie and wins over the region's language.
 */
import { Form, useLocation } from '@remix-run/react'
import { useTranslation } from 'react-i18next'
import { LANGUAGE_NAMES, LANGUAGES, type Language } from '#app/i18n/languages.ts'

export function LanguageSwitch({ current }: { current: Language }) {
  const { t } = useTranslation()
  const location = useLocation()
  return (
    <nav aria-label={t('shell.language')} className="language-switch">
      <Form method="post" action="/language" className="row">
        <input type="hidden" name="redirectTo" value={location.pathname + location.search} />
        {LANGUAGES.map((language) => (
          <button key={language} type="submit" name="language" value={language} lang={language} className="link" aria-pressed={language === current} data-testid={`language-${language}`}>
            {LANGUAGE_NAMES[language]}
          </button>
        ))}
      </Form>
    </nav>
  )
}
