/**
 * What joining an organization means for the member's sign-in, in words, for the invitation on
 * their security page and in the API (decision 055). Pure: no database.
 */
/** Said by the invitation link's page and by its refusal: the link never creates a second account (decision 055). */
export const ACCOUNT_EXISTS = 'This address already has a Gatehouse account. Sign in, then accept or decline the invitation under Security settings.'

export type PolicyWords = { mode: 'disabled' | 'optional' | 'required'; allowedMethods: string[]; gracePeriodDays: number }

const METHOD_WORDS: Record<string, string> = { totp: 'an authenticator app', webauthn: 'a security key', email: 'an email code' }
const orList = (words: string[]) => (words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : (words[0] ?? 'a second factor'))

/** "Acme requires an authenticator app or a security key within 7 days"; no policy in the region reads as Disabled. */
export function describePolicy(organization: string, policy: PolicyWords | null): string {
  if (!policy || policy.mode === 'disabled') return `${organization} does not ask for a second factor`
  if (policy.mode === 'optional') return `${organization} asks for a second factor if you set one up (optional)`
  const methods = orList(Object.keys(METHOD_WORDS).filter((m) => policy.allowedMethods.includes(m)).map((m) => METHOD_WORDS[m]))
  const days = policy.gracePeriodDays
  return `${organization} requires ${methods} ${days > 0 ? `within ${days} day${days === 1 ? '' : 's'}` : 'from your next sign-in'}`
}
