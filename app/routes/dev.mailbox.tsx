import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { notFound } from '#app/http/request.server.ts'
import { readDevMailbox } from '#app/mail/dev-mailbox.server.ts'
import { Time } from '#app/ui/time.tsx'

export const meta: MetaFunction = () => [{ title: 'Development mailbox · Gatehouse' }]

export async function loader({ request }: LoaderFunctionArgs) {
  const to = new URL(request.url).searchParams.get('to') ?? undefined
  const box = await readDevMailbox(to)
  if (!box) throw notFound()
  return box
}

export default function DevMailbox() {
  const { messages, deliveries } = useLoaderData<typeof loader>()
  return (
    <>
      <section className="card">
        <h1>Development mailbox</h1>
        <p className="muted">Mail goes here because no SMTP_URL is set. This page exists only with NODE_ENV=development. Newest first; reload to see new mail.</p>
        {messages.length === 0 ? <p>No mail yet.</p> : null}
        {messages.map((m) => (
          <article key={m.id} className="card">
            <div className="muted">To {m.toAddress} · <Time value={m.createdAt} /></div>
            <h2>{m.subject}</h2>
            <pre className="mail">{m.text}</pre>
          </article>
        ))}
      </section>
      <section className="card">
        <h2>Delivery state</h2>
        <table>
          <thead><tr><th>To</th><th>Template</th><th>Status</th><th>Attempts</th><th>Last error</th></tr></thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id}><td>{d.to}</td><td>{d.template}</td><td>{d.status}</td><td>{d.attempts}</td><td>{d.lastError}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  )
}
