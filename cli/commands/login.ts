import type { ApiData } from '#app/api/define.server.ts'
import type { signInEndpoint } from '#app/api/endpoints/auth.server.ts'
import type { emailCodeEndpoint } from '#app/api/endpoints/two-factor.server.ts'
import { UsageError, defineCommand } from '../registry.ts'
import { ApiCallError, URL_OPTION, api, prompt, readSettings, readCredentials, saveCredentials, serverUrl } from './_client.ts'

type SignInAnswer = ApiData<typeof signInEndpoint>
type Challenge = Extract<SignInAnswer, { requires2FA: true }>
type SignIn = Exclude<SignInAnswer, Challenge>

const METHOD_WORDS: Record<string, string> = { totp: 'Code from your authenticator app', email: 'Code from the email', recovery_code: 'Recovery code' }

export default defineCommand({
  name: 'login',
  group: 'client',
  summary: 'sign in to a Gatehouse server and keep the session token',
  usage: '[--url URL] [--region R] [--email E] [--backup-code]',
  description:
    'Asks for the region (default from --region or ~/.config/gatehouse/config.json), email and password, then the second factor your organization asks for. ' +
    'The token is saved in $XDG_CONFIG_HOME/gatehouse/credentials.json (else ~/.config/gatehouse/), readable only by you (mode 0600). ' +
    'Answers are read from standard input when it is not a terminal, one per line.',
  options: {
    url: URL_OPTION,
    region: { type: 'string', placeholder: 'code', description: 'your account’s region (us, eu, ...)' },
    email: { type: 'string', placeholder: 'email', description: 'your email address (asked when missing)' },
    'backup-code': { type: 'boolean', description: 'use a recovery code instead of your app or email' },
  },
  examples: ['gatehouse login --url https://gatehouse.example.com --region eu', 'gatehouse login --backup-code'],
  async run({ values, print }) {
    const base = serverUrl(values)
    const known = readCredentials()
    const region = typeof values.region === 'string' && values.region.trim() ? values.region.trim() : await prompt('Region', { default: readSettings().region ?? known?.region ?? 'us' })
    const email = typeof values.email === 'string' && values.email.trim() ? values.email.trim() : await prompt('Email', { default: known?.url === base ? known.email : undefined })
    const password = await prompt('Password', { secret: true })
    let result = await api<SignIn | Challenge>(base, '/api/auth/signin', { body: { email, password, region }, signedOutHint: false })

    if ('requires2FA' in result) {
      const challenge = result
      let method = challenge.method
      if (values['backup-code']) {
        if (!challenge.methods.includes('recovery_code')) throw new UsageError('recovery codes are not available for this sign-in (they back up an authenticator app or security key)')
        method = 'recovery_code'
      } else if (method === 'webauthn') {
        // A security key needs a browser; fall back to what a terminal can do.
        method = challenge.methods.find((m) => m === 'totp') ?? challenge.methods.find((m) => m === 'email') ?? 'recovery_code'
        if (!challenge.methods.includes(method)) throw new UsageError('this account signs in with a security key, which needs a browser. Use --backup-code, or sign in on the web.')
        process.stderr.write('Security keys need a browser; using another method.\n')
      }
      if (method === 'email' && challenge.emailCodeSent) {
        // Sign-in already emailed it (decision 081).
        process.stderr.write(`We sent a code to ${email}.\n`)
      } else if (method === 'email') {
        const sent = await api<ApiData<typeof emailCodeEndpoint>>(base, '/api/auth/2fa/email', { body: { challengeId: challenge.challengeId } })
        process.stderr.write(`We sent a code to ${sent.to}.\n`)
      }
      for (let attempt = 1; ; attempt++) {
        const code = await prompt(METHOD_WORDS[method] ?? 'Code', { secret: true })
        try {
          result = await api<SignIn>(base, '/api/auth/2fa/verify', { body: { challengeId: challenge.challengeId, code, method }, signedOutHint: false })
          break
        } catch (e) {
          // A wrong code: say so and ask again (the server ends the sign-in after 5).
          if (e instanceof ApiCallError && e.failure.code === 'invalid_code' && attempt < 5 && process.stdin.isTTY) {
            process.stderr.write(`${e.message}\n`)
            continue
          }
          throw e
        }
      }
    }
    const signedIn = result as SignIn
    const path = saveCredentials({ url: base, region, email: signedIn.user.email, token: signedIn.token, enrollmentOnly: signedIn.enrollmentOnly, savedAt: new Date().toISOString() })
    const lines = [`Signed in to ${base} as ${signedIn.user.email} (${signedIn.user.region}). Token saved in ${path}.`]
    if (signedIn.enrollmentOnly) lines.push('Your organization requires two-factor authentication: run "gatehouse 2fa setup" now. Until then this token can only set it up, for 15 minutes.')
    if (signedIn.grace) lines.push(`${signedIn.grace.organizations.join(' and ')} requires two-factor authentication by ${signedIn.grace.deadline.slice(0, 10)} (${signedIn.grace.daysLeft} days): run "gatehouse 2fa setup".`)
    print({ ok: true, url: base, email: signedIn.user.email, region: signedIn.user.region, enrollmentOnly: signedIn.enrollmentOnly, credentials: path, ...(signedIn.grace ? { grace: signedIn.grace } : {}) }, lines)
  },
})
