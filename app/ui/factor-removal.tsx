import { useTranslation } from 'react-i18next'

/** What removing a factor does, said before it is done (shared with the authenticator app page). `what` is in the page's language. */
export function RemovalEffect({ what, lastFactor, otherSessions }: { what: string; lastFactor: boolean; otherSessions: number }) {
  const { t } = useTranslation()
  return (
    <>
      {/* The space between sentences is in the catalog: Japanese has none. */}
      {t('ui.removal.noLonger', { what })}
      {lastFactor ? t('ui.removal.lastFactor') : ''}
      {otherSessions ? (otherSessions === 1 ? t('ui.removal.oneOtherSession') : t('ui.removal.otherSessions', { count: otherSessions })) : t('ui.removal.staySignedIn')}
    </>
  )
}
