import type { ApiData } from '#app/api/define.server.ts'
import type { signInEndpoint } from '#app/api/endpoints/auth.server.ts'
import { UsageError, defineCommand } from '../registry.ts'
import { type AppEnabled as Enabled, reportAppEnabled } from './_2fa.ts'
import { URL_OPTION, api, currentToken, prompt, saveCredentials, serverUrl } from './_client.ts'
type SignIn = Exclude<ApiData<typeof signInEndpoint>, { requires2FA: true }>

const METHODS = ['totp', 'email', 'recovery_code', 'temporary_access']

export default defineCommand({
  name: '2fa verify',
  group: 'client',
  summary: 'finish an app set-up started elsewhere, or a pending sign-in (--challenge)',
  usage: '[--url URL] [--code C] [--secret S] | --challenge ID [--method M] [--code C]',
  description:
    'Without --challenge: confirms the authenticator app being set up on your saved session (started by "gatehouse 2fa setup", the web page or POST /api/auth/2fa/setup) with a code from the app; ' +
    '--secret checks that it is that set-up\'s secret. The first app gives you 10 recovery codes, shown once. ' +
    'With --challenge: finishes a sign-in a script started with POST /api/auth/signin, sending the challengeId as the bearer token (reference page 002), and saves the session token as "gatehouse login" does. ' +
    'The code is asked for when --code is not given.',
  options: {
    url: URL_OPTION,
    code: { type: 'string', placeholder: 'code', description: 'the code (asked for when missing; prefer the prompt: arguments show in the process list)' },
    secret: { type: 'string', placeholder: 'secret', description: 'the secret of the app set-up to confirm (checked against the one in progress)' },
    challenge: { type: 'string', placeholder: 'id', description: 'the challengeId of a pending sign-in (from POST /api/auth/signin)' },
    method: { type: 'string', placeholder: 'method', description: 'with --challenge: totp, email, recovery_code or temporary_access (a code from support or your admin; default: the one the sign-in asked for)' },
  },
  examples: ['gatehouse 2fa verify', 'gatehouse 2fa verify --secret JBSWY3DPEHPK3PXP', 'gatehouse 2fa verify --challenge "$CHALLENGE_ID" --method recovery_code', 'gatehouse 2fa verify --challenge "$CHALLENGE_ID" --method temporary_access'],
  async run({ values, print }) {
    const base = serverUrl(values)
    const given = (name: string) => (typeof values[name] === 'string' && (values[name] as string).trim() ? (values[name] as string).trim() : undefined)
    const challenge = given('challenge')
    const method = given('method')
    if (method && !METHODS.includes(method)) throw new UsageError(`--method must be one of ${METHODS.join(', ')}`)
    if (challenge && given('secret')) throw new UsageError('--secret confirms an app set-up; it does not go with --challenge')
    if (!challenge && method && method !== 'totp') throw new UsageError('without --challenge this confirms an authenticator app: --method can only be totp')

    if (challenge) {
      const label = method === 'recovery_code' ? 'Recovery code' : method === 'email' ? 'Code from the email' : method === 'temporary_access' ? 'Temporary access code' : 'Code'
      const code = given('code') ?? (await prompt(label, { secret: true }))
      const signedIn = await api<SignIn>(base, '/api/auth/2fa/verify', { body: { code, ...(method ? { method } : {}) }, token: challenge, signedOutHint: false })
      const path = saveCredentials({ url: base, region: signedIn.user.region, email: signedIn.user.email, token: signedIn.token, enrollmentOnly: signedIn.enrollmentOnly, savedAt: new Date().toISOString() })
      print({ ok: true, url: base, email: signedIn.user.email, region: signedIn.user.region, enrollmentOnly: signedIn.enrollmentOnly, credentials: path }, [
        `Signed in to ${base} as ${signedIn.user.email} (${signedIn.user.region}). Token saved in ${path}.`,
        ...(signedIn.enrollmentOnly ? ['This token can only set up a second factor, for 15 minutes: run "gatehouse 2fa setup" now.'] : []),
      ])
      return
    }

    const token = currentToken()
    const code = given('code') ?? (await prompt('Code from your authenticator app', { secret: true }))
    const secret = given('secret')
    const result = await api<Enabled>(base, '/api/auth/2fa/verify', { body: { code, ...(secret ? { secret } : {}) }, token })
    reportAppEnabled(result, token, print)
  },
})
