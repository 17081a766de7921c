import type { ReactNode } from 'react'

/** What an empty table says instead of showing only its headers: why it is empty, and what to do. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" role="status">
      <p><strong>{title}</strong></p>
      {children ? <p className="muted">{children}</p> : null}
    </div>
  )
}
