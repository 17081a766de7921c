/** A real SMTP listener in the test process: the mail worker sends to it over TCP. */
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export type ReceivedMail = { to: string; subject: string; text: string; receivedAt: number }

export async function startSmtp() {
  const received: ReceivedMail[] = []
  const waiters: (() => void)[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          for (const rcpt of session.envelope.rcptTo) {
            received.push({ to: rcpt.address.toLowerCase(), subject: mail.subject ?? '', text: mail.text ?? '', receivedAt: Date.now() })
          }
          waiters.splice(0).forEach((w) => w())
          callback()
        })
        .catch(callback)
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
  return { port, received, waitFor, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
export type TestSmtp = Awaited<ReturnType<typeof startSmtp>>
