/** "Use a temporary access code" at the second step of a sign-in (decision 070). */
import { Form, Link, useNavigation } from '@remix-run/react'
import { Field, FormError } from './form.tsx'

export function AccessCodeForm(props: { path: string; errors: Record<string, string> }) {
  const busy = useNavigation().state !== 'idle'
  return (
    <>
      <FormError message={props.errors.form} />
      <Form method="post" noValidate aria-label="Sign in with a temporary access code">
        <input type="hidden" name="intent" value="temporary_access" />
        <p>Enter the temporary access code that support or your organization administrator gave you. It works once; you then add a new authenticator app or security key.</p>
        <Field label="Temporary access code" name="code" autoComplete="off" autoCapitalize="characters" spellCheck={false} maxLength={40} error={props.errors.code} required autoFocus />
        <button type="submit" disabled={busy}>Sign in with the code</button>
      </Form>
      <p><Link to={props.path}>Back to the other ways to verify</Link></p>
    </>
  )
}

/** The link under the usual second-step forms. */
export function AccessCodeLink({ path }: { path: string }) {
  return <p><Link to={`${path}?method=temporary_access`}>Use a temporary access code</Link></p>
}
