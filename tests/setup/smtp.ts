/** A real SMTP listener in the test process: the mail worker sends to it over TCP. */
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export type ReceivedMail = { to: string; subject: string; text: string; receivedAt: number }

export async function startSmtp() {
  const received: ReceivedMail[] = []
  const waiters: (() => void)[] = []
  // Mail to these addresses is read but not acknowledged until released: the sender stays mid-send.
  const holding = new Map<string, { held: (() => void)[]; onHeld: (sessionId: string) => void }>()
  const pending = new Map<string, () => void>()
  const onDropped = new Map<string, () => void>()
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const accept = () => {
            pending.delete(session.id)
            for (const rcpt of session.envelope.rcptTo) {
              received.push({ to: rcpt.address.toLowerCase(), subject: mail.subject ?? '', text: mail.text ?? '', receivedAt: Date.now() })
            }
            waiters.splice(0).forEach((w) => w())
            callback()
          }
          const hold = session.envelope.rcptTo.map((r) => holding.get(r.address.toLowerCase())).find(Boolean)
          if (!hold) return accept()
          pending.set(session.id, accept)
          hold.held.push(accept)
          hold.onHeld(session.id)
        })
        .catch(callback)
    },
    // A sender that died mid-send delivered nothing.
    onClose(session) {
      if (pending.delete(session.id)) onDropped.get(session.id)?.()
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.server.address() as { port: number }).port

  /** Waits for the next mail to `to` (optionally matching `subject`) that arrived after `since`. */
  async function waitFor(to: string, options: { subject?: RegExp; since?: number; timeoutMs?: number } = {}): Promise<ReceivedMail> {
    const deadline = Date.now() + (options.timeoutMs ?? 15_000)
    const match = () => received.find((m) => m.to === to.toLowerCase() && (!options.subject || options.subject.test(m.subject)) && m.receivedAt >= (options.since ?? 0))
    for (;;) {
      const found = match()
      if (found) return found
      if (Date.now() > deadline) throw new Error(`No mail to ${to}${options.subject ? ` matching ${options.subject}` : ''}; received: ${received.map((m) => `${m.to} "${m.subject}"`).join(', ') || 'nothing'}`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
  }
  /**
   * Holds mail to `to` from now on: `held` resolves when a sender is waiting for its answer,
   * `dropped` when that sender went away without one; `release` stops holding and accepts what
   * is held from senders still connected.
   */
  function hold(to: string) {
    let resolveHeld = () => {}
    let resolveDropped = () => {}
    const held = new Promise<void>((resolve) => (resolveHeld = resolve))
    const dropped = new Promise<void>((resolve) => (resolveDropped = resolve))
    const onHeld = (sessionId: string) => {
      onDropped.set(sessionId, resolveDropped)
      resolveHeld()
    }
    const entry = { held: [] as (() => void)[], onHeld }
    holding.set(to.toLowerCase(), entry)
    return {
      held,
      dropped,
      release() {
        holding.delete(to.toLowerCase())
        for (const accept of entry.held) if ([...pending.values()].includes(accept)) accept()
      },
    }
  }
  return { port, received, waitFor, hold, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
export type TestSmtp = Awaited<ReturnType<typeof startSmtp>>
