import { useNavigation } from '@remix-run/react'
import type { ButtonHTMLAttributes, ReactNode } from 'react'

/**
 * A submit button that shows it is working while its own form is being sent (Remix's navigation
 * state): disabled, `aria-busy`, and `busyLabel` in place of its label, so a second press does not
 * send the form twice and a screen reader hears that something is happening. "Its own form" is
 * told by `match`: the fields (by default the button's own name and value, else `intent`) that the
 * submission in flight must carry, so one Remove button in a table is busy, not all of them.
 * Without JavaScript it is a plain submit button.
 */
export function SubmitButton({
  children,
  busyLabel,
  match,
  disabled,
  ...button
}: { children: ReactNode; busyLabel: string; match?: Record<string, string> } & Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type' | 'children'>) {
  const busy = useSubmitting(match ?? (button.name && button.value !== undefined ? { [button.name]: String(button.value) } : undefined))
  return (
    <button type="submit" {...button} disabled={disabled || busy} aria-busy={busy || undefined}>
      {busy ? busyLabel : children}
    </button>
  )
}

/** True while a form submission is in flight (and its redirect loads) whose fields include every `match` entry. */
export function useSubmitting(match?: Record<string, string>): boolean {
  const navigation = useNavigation()
  const sent = navigation.formData
  if (navigation.state === 'idle' || !sent) return false
  return Object.entries(match ?? {}).every(([name, value]) => sent.get(name) === value)
}
