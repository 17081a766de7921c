/**
 * Remix's default Node entry, plus the Content-Security-Policy nonce (decision 059): Express makes
 * one per request and passes it in the load context; React puts it on its own inline scripts,
 * RemixServer on the streamed data scripts, and root.tsx (through NonceProvider) on <Scripts> and
 * <ScrollRestoration>.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { AppLoadContext, EntryContext } from '@remix-run/node'
import { createReadableStreamFromReadable } from '@remix-run/node'
import { RemixServer } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream } from 'react-dom/server'
import { NonceProvider } from '#app/ui/nonce.tsx'

declare module '@remix-run/node' {
  interface AppLoadContext {
    /** This request's Content-Security-Policy script nonce (server/security-headers.ts). */
    cspNonce?: string
  }
}

const ABORT_DELAY = 5_000

/**
 * React writes a page in small pieces (about 2 kB each), and the Remix adapter flushes the
 * compression stream after each one it forwards: a 100 kB page cost some fifty compressor flushes
 * and as many stream round trips. This joins what React writes in one go (one synchronous run) into
 * one chunk, at the end of that run: the browser still gets the shell, then each streamed part,
 * as soon as React has it (decision 083).
 */
class JoinWrites extends Transform {
  private parts: Buffer[] = []
  private pending = false
  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.parts.push(chunk)
    if (!this.pending) {
      this.pending = true
      queueMicrotask(() => this.release())
    }
    callback()
  }
  _flush(callback: TransformCallback) {
    this.release()
    callback()
  }
  private release() {
    this.pending = false
    if (this.parts.length) this.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts))
    this.parts = []
  }
}

export default function handleRequest(request: Request, responseStatusCode: number, responseHeaders: Headers, remixContext: EntryContext, loadContext: AppLoadContext) {
  const nonce = loadContext.cspNonce ?? ''
  // Crawlers get the whole page at once; browsers get the shell as soon as it is ready.
  const waitForAll = isbot(request.headers.get('user-agent') ?? '') || remixContext.isSpaMode
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false
    const ready = () => {
      shellRendered = true
      const body = new JoinWrites()
      responseHeaders.set('Content-Type', 'text/html')
      resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }))
      pipe(body)
    }
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceProvider>,
      {
        nonce,
        ...(waitForAll ? { onAllReady: ready } : { onShellReady: ready }),
        onShellError(error: unknown) {
          reject(error)
        },
        onError(error: unknown) {
          responseStatusCode = 500
          // Errors inside the shell reject and are logged by Remix; later ones only here.
          if (shellRendered) console.error(error)
        },
      },
    )
    setTimeout(abort, ABORT_DELAY)
  })
}
