/** What removing a factor does, said before it is done (shared with the authenticator app page). */
export function RemovalEffect({ what, lastFactor, otherSessions }: { what: string; lastFactor: boolean; otherSessions: number }) {
  return (
    <>
      {what} will no longer sign you in.{' '}
      {lastFactor ? 'It is your last app or key: two-factor authentication will be off, and your recovery codes and remembered devices are removed. ' : ''}
      {otherSessions ? `You will be signed out of ${otherSessions === 1 ? '1 other session' : `${otherSessions} other sessions`} (browsers and API tokens); this one stays signed in.` : 'You stay signed in here.'}
    </>
  )
}
