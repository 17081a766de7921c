/** One stacked bar per region, with the numbers written out: readable at a glance and without colour. */
export type ChartRow = { region: string; mode: string; compliant: number; in_grace: number; overdue: number; exempt: number; total: number }

const PARTS = [
  { key: 'compliant', label: 'Compliant', color: '#067647' },
  { key: 'in_grace', label: 'In grace', color: '#f79009' },
  { key: 'overdue', label: 'Overdue', color: '#b42318' },
  { key: 'exempt', label: 'Exempt', color: '#98a2b3' },
] as const

export function ComplianceChart({ rows }: { rows: ChartRow[] }) {
  return (
    <div>
      <div className="row" aria-hidden="true" style={{ marginBottom: '.5rem' }}>
        {PARTS.map((p) => (
          <span key={p.key} className="muted"><span style={{ display: 'inline-block', width: 12, height: 12, background: p.color, marginRight: 4, verticalAlign: 'middle' }} />{p.label}</span>
        ))}
      </div>
      {rows.map((r) => (
        <figure key={r.region} style={{ margin: '0 0 1rem' }} aria-label={`Compliance in ${r.region.toUpperCase()}`}>
          <figcaption><strong>{r.region.toUpperCase()}</strong> <span className="muted">· {r.mode} · {r.total.toLocaleString('en-US')} members</span></figcaption>
          <div style={{ display: 'flex', height: 22, borderRadius: 4, overflow: 'hidden', background: 'var(--badge-bg)' }}>
            {PARTS.map((p) => (r[p.key] > 0 ? <div key={p.key} title={`${p.label}: ${r[p.key]}`} style={{ width: `${(100 * r[p.key]) / Math.max(r.total, 1)}%`, background: p.color }} /> : null))}
          </div>
          <div className="row muted" style={{ fontSize: '.85rem' }}>
            {PARTS.map((p) => <span key={p.key} data-status={p.key}>{p.label}: {r[p.key].toLocaleString('en-US')}</span>)}
          </div>
        </figure>
      ))}
    </div>
  )
}
