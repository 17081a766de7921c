import { METHOD_LABELS as LABELS } from '#app/mfa/methods.schema.ts'
import { STATUS_LABELS as STATUS_NAMES } from '#app/orgs/members.schema.ts'
import { NavLink } from '@remix-run/react'

/** Tabs of the organization admin console. */
export function OrgNav({ slug, name }: { slug: string; name: string }) {
  const tabs = [
    ['', 'Overview'], ['/members', 'Members'], ['/policy', 'Policy'], ['/exemptions', 'Exemptions'], ['/api-keys', 'API keys'], ['/sso', 'Single sign-on'], ['/audit', 'Audit log'],
  ] as const
  return (
    <nav aria-label={`${name} administration`} className="row" style={{ marginBottom: '1rem' }}>
      <strong>{name}</strong>
      {tabs.map(([path, label]) => (
        <NavLink key={path} to={`/orgs/${slug}${path}`} end style={({ isActive }) => ({ fontWeight: isActive ? 700 : 400 })}>
          {label}
        </NavLink>
      ))}
    </nav>
  )
}

/** The method labels (app/mfa/methods.schema.ts), looked up by ids that come from stored data. */
export const METHOD_LABELS: Record<string, string> = LABELS
export const STATUS_LABELS: Record<string, string> = STATUS_NAMES
export const STATUS_BADGE: Record<string, string> = { compliant: 'ok', in_grace: 'warn', overdue: 'bad', exempt: '' }
