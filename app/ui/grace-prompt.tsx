import { Form, Link } from '@remix-run/react'
import { METHOD_LABELS } from './org-nav.tsx'
import { Time } from './time.tsx'

/**
 * The `/login/grace` page body: names the deadline and the organization, with "Set up now" and
 * "Remind me later". `continueAction` is where "Remind me later" posts (the sign-in flow decides).
 */
export function GracePromptView(props: { deadline: string; organizations: string[]; allowedMethods: string[]; daysLeft: number; setupHref?: string; continueAction: string; redirectTo?: string }) {
  const orgs = props.organizations.join(' and ')
  return (
    <section className="card narrow" aria-labelledby="grace-title">
      <h1 id="grace-title">Set up two-factor authentication</h1>
      <p>
        {orgs} requires two-factor authentication. You have until <strong><Time value={props.deadline} style="date" /></strong> ({props.daysLeft} {props.daysLeft === 1 ? 'day' : 'days'} left) to set up{' '}
        {props.allowedMethods.map((m) => METHOD_LABELS[m] ?? m).join(' or ').toLowerCase() || 'a second factor'}.
      </p>
      <p className="hint">After the deadline you will have to set it up before you can do anything else, or you may not be able to sign in at all.</p>
      <div className="row">
        <Link className="button" to={props.setupHref ?? '/settings/security'}>Set up now</Link>
        <Form method="post" action={props.continueAction}>
          {props.redirectTo ? <input type="hidden" name="redirectTo" value={props.redirectTo} /> : null}
          <button type="submit" className="secondary" name="intent" value="later">Remind me later</button>
        </Form>
      </div>
    </section>
  )
}
