/**
 * The security headers on every response, pages, API, static files and errors alike
 * (decision 059): helmet for the standard set, a Content-Security-Policy whose script nonce is
 * made fresh for each request, a Permissions-Policy, and `Cache-Control: no-store` on whatever did
 * not choose its own caching. Registered before express.static, so static files carry them too.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler, Response } from 'express'
import helmet from 'helmet'
import onHeaders from 'on-headers'

/** Browser features Gatehouse never uses; WebAuthn stays allowed for this origin only. */
export const PERMISSIONS_POLICY = [
  'camera=()',
  'microphone=()',
  'geolocation=()',
  'payment=()',
  'usb=()',
  'publickey-credentials-get=(self)',
  'publickey-credentials-create=(self)',
].join(', ')

/** The nonce that this request's inline scripts must carry (set by the first middleware below). */
export function cspNonce(res: Response): string {
  return String(res.locals.cspNonce ?? '')
}

// helmet hands directive functions Node's plain types; the response is Express's all the same.
const nonceSource = (_req: IncomingMessage, res: ServerResponse) => `'nonce-${cspNonce(res as Response)}'`

export function securityHeaders(options: { https: boolean }): RequestHandler[] {
  return [
    (_req, res, next) => {
      res.locals.cspNonce = randomBytes(16).toString('base64')
      // Signed-in pages and API answers must never sit in a cache; static files and the route
      // manifest set their own caching, and only a response that set none is changed.
      onHeaders(res, function (this: ServerResponse) {
        if (!this.hasHeader('Cache-Control')) this.setHeader('Cache-Control', 'no-store')
      })
      res.setHeader('Permissions-Policy', PERMISSIONS_POLICY)
      next()
    },
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          // Remix's inline scripts carry the nonce; the modules they import are trusted through
          // 'strict-dynamic' (browsers that know it ignore host lists beside it, so none is kept).
          scriptSrc: [nonceSource, "'strict-dynamic'"],
          scriptSrcAttr: ["'none'"],
          // React renders `style={{…}}` as style attributes in the server HTML: those are allowed,
          // <style> elements and foreign stylesheets are not (decision 059).
          styleSrc: ["'self'"],
          styleSrcAttr: ["'unsafe-inline'"],
          // The TOTP QR code is a data: URL.
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          ...(options.https ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'same-origin' },
      strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      xFrameOptions: { action: 'deny' },
    }),
  ]
}

/**
 * Under /support/queues only (decision 067): bull-board's page loads its scripts as files from
 * this origin, without the nonce, and finds them through a <base href> of its own path, so there
 * `script-src` is 'self' instead of the nonce and 'strict-dynamic', and `base-uri` is 'self'
 * instead of 'none'. Every other directive stays; the page's web fonts (from a font host) and its
 * inline styles (a loading animation) stay refused, and the dashboard works without them.
 */
export const queueDashboardCsp: RequestHandler = (_req, res, next) => {
  const policy = res.getHeader('Content-Security-Policy')
  if (typeof policy === 'string') {
    res.setHeader('Content-Security-Policy', policy.replace(/script-src [^;]*/, "script-src 'self'").replace(/base-uri [^;]*/, "base-uri 'self'"))
  }
  next()
}
