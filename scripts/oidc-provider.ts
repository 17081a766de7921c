/**
 * A real OpenID provider (`oidc-provider`, certified, its own signing key) for the tests and
 * `npm run demo` (decision 075): Gatehouse's SSO is exercised against it, never against a mock.
 * Its sign-in page lists its users; each user's ID token carries the `amr` and `acr` given here.
 *
 * `faults` lets a test make the provider misbehave the way a broken or hostile one would, so that
 * the client's checks are tested through the real flow: an ID token with a wrong issuer, a wrong
 * audience, already expired, or the previous sign-in's token replayed (its nonce). The token is
 * re-signed with the provider's own key, so only the claim under test is wrong.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'
// oidc-provider ships no type declarations; the few calls used here are typed by hand below.
// @ts-expect-error no declaration file
import Provider from 'oidc-provider'

export type IdpUser = { id: string; email: string; name: string; amr: string[]; acr?: string; emailVerified?: boolean }
export type IdpClient = { clientId: string; clientSecret: string; redirectUris: string[] }
export type Fault = 'wrong_issuer' | 'wrong_audience' | 'expired' | 'replay_previous' | 'token_endpoint_down' | null

export type TestProvider = {
  issuer: string
  port: number
  users: IdpUser[]
  /** What the next token responses do wrong (null: nothing). */
  faults: { idToken: Fault }
  close: () => Promise<void>
}

type Provider = {
  use: (mw: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>) => void
  callback: () => (req: IncomingMessage, res: ServerResponse) => void
  interactionDetails: (req: IncomingMessage, res: ServerResponse) => Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown> }>
  interactionFinished: (req: IncomingMessage, res: ServerResponse, result: unknown, options?: unknown) => Promise<void>
  Grant: new (input: { clientId: string; accountId: string }) => { addOIDCScope: (s: string) => void; save: () => Promise<string> }
  proxy?: boolean
}
type KoaContext = { path: string; method: string; status: number; body: unknown; oidc?: any }

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export async function startOidcProvider(input: { port: number; host?: string; users: IdpUser[]; clients: IdpClient[]; title?: string }): Promise<TestProvider> {
  const host = input.host ?? 'localhost'
  const issuer = `http://${host}:${input.port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' } as JWK
  const users = new Map(input.users.map((u) => [u.id, u]))
  const acrValues = [...new Set(input.users.flatMap((u) => (u.acr ? [u.acr] : [])))]

  const provider: Provider = new Provider(issuer, {
    clients: input.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    acrValues,
    // amr with the openid scope: every ID token says how the person signed in.
    claims: { openid: ['sub', 'amr', 'acr'], email: ['email', 'email_verified'], profile: ['name'], auth_time: null, sid: null, iss: null },
    features: { devInteractions: { enabled: false } },
    // Put the email and name in the ID token itself, as most enterprise providers do.
    conformIdTokenClaims: false,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, id: string) {
      const user = users.get(id)
      if (!user) return undefined
      return { accountId: id, claims: async () => ({ sub: id, email: user.email, email_verified: user.emailVerified ?? true, name: user.name }) }
    },
    // The provider's own consent screen is skipped: Gatehouse is this provider's only relying party.
    async loadExistingGrant(ctx: any) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
      if (grantId) return ctx.oidc.provider.Grant.find(grantId)
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
      grant.addOIDCScope('openid email profile')
      grant.addOIDCClaims(['amr', 'acr', 'auth_time'])
      await grant.save()
      return grant
    },
  })

  const faults: TestProvider['faults'] = { idToken: null }
  let previousIdToken: string | null = null
  const signingKey = await importJWK(jwk, 'RS256')
  const resign = async (token: string, change: (claims: Record<string, unknown>) => void) => {
    const claims = decodeJwt(token) as Record<string, unknown>
    change(claims)
    return new SignJWT(claims).setProtectedHeader(decodeProtectedHeader(token) as { alg: string; kid?: string }).sign(signingKey)
  }
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && faults.idToken === 'token_endpoint_down') {
      ctx.status = 503
      ctx.body = 'Service Unavailable'
      return
    }
    await next()
    if (ctx.path !== '/token' || ctx.status !== 200) return
    const body = ctx.body as { id_token?: string }
    if (!body?.id_token) return
    const issued = body.id_token
    const now = Math.floor(Date.now() / 1000)
    switch (faults.idToken) {
      case 'wrong_issuer':
        body.id_token = await resign(issued, (c) => void (c.iss = 'http://issuer.invalid'))
        break
      case 'wrong_audience':
        body.id_token = await resign(issued, (c) => void (c.aud = 'another-client'))
        break
      case 'expired':
        body.id_token = await resign(issued, (c) => {
          c.iat = now - 7200
          c.exp = now - 3600
        })
        break
      case 'replay_previous':
        if (previousIdToken) body.id_token = previousIdToken
        break
    }
    previousIdToken = issued
  })

  const oidc = provider.callback()
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', issuer)
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(url.pathname)
    if (!match) return oidc(req, res)
    try {
      const details = await provider.interactionDetails(req, res)
      if (req.method === 'POST' && match[2]) {
        const form = new URLSearchParams(await readBody(req))
        const user = users.get(form.get('login') ?? '')
        if (!user) {
          res.writeHead(400, { 'content-type': 'text/html' }).end('<p>Unknown user.</p>')
          return
        }
        await provider.interactionFinished(req, res, { login: { accountId: user.id, amr: user.amr, ...(user.acr ? { acr: user.acr } : {}) } }, { mergeWithLastSubmission: false })
        return
      }
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : ''
      const rows = input.users
        .map((u) => `<li><button name="login" value="${escapeHtml(u.id)}"${u.email === hint ? ' autofocus' : ''}>Sign in as ${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt;</button> <small>amr ${escapeHtml(JSON.stringify(u.amr))}${u.acr ? ` acr ${escapeHtml(u.acr)}` : ''}</small></li>`)
        .join('')
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html><head><title>${escapeHtml(input.title ?? 'Identity provider')}</title></head><body><h1>${escapeHtml(input.title ?? 'Identity provider')}</h1>` +
          `<p>Choose who signs in${details.params.max_age === '0' || details.params.prompt === 'login' ? ' (again, to confirm)' : ''}.</p>` +
          `<form method="post" action="/interaction/${escapeHtml(details.uid)}/login"><ul>${rows}</ul></form></body></html>`,
      )
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`Interaction failed: ${(e as Error).message}`)
    }
  })
  await new Promise<void>((resolve) => server.listen(input.port, host, resolve))
  return {
    issuer,
    port: input.port,
    users: input.users,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
      if (body.length > 10_000) req.destroy()
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}
