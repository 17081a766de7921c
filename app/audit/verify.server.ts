/**
 * Audit chain verification: walks every chain in sequence order, starting from its retention
 * anchor, and checks that each event's stored hash is what the database function
 * audit_event_hash computes (an edited row fails), that it links to the previous event's hash,
 * that no sequence number is missing (a deleted row fails), and that the chain ends at its head in
 * audit_chain_heads (removing the newest rows fails). Each retention anchor is checked against the
 * retention that was in force when it was written (decision 058).
 */
import { AUDIT_RETENTION_MIN_DAYS } from './query.server.ts'
import { sql } from '#db/client.ts'

export type ChainReport = { chain: string; events: number; firstSeq: number | null; lastSeq: number | null; anchoredAt: number | null; ok: boolean }
export type BrokenEvent = { chain: string; id: number | null; seq: number; problem: 'edited' | 'link' | 'missing' | 'truncated' | 'rewritten' | 'retention'; message: string }
export type AuditVerification = { ok: boolean; chains: ChainReport[]; events: number; firstBroken: BrokenEvent | null; broken: BrokenEvent[] }

const GENESIS = '0'.repeat(64)

type AnchorRow = {
  chain: string; last_removed_seq: string; last_removed_hash: string; retention_days: number | null; pruned_at: string; cut_off: string | null; removed_until: string | null
  cut_too_late: boolean | null; removed_too_new: boolean | null; from_the_future: boolean
}

/**
 * What is wrong with a retention anchor, if anything: audit_prune records the retention it read,
 * the cut-off it used (pruned_at − retention) and the newest event it removed. Anchors written
 * before it recorded them (retention_days null) have nothing to check.
 */
function anchorProblem(a: AnchorRow): string | null {
  if (a.from_the_future) return 'is dated in the future'
  if (a.retention_days === null && a.cut_off === null && a.removed_until === null) return null
  if (a.retention_days === null || a.cut_off === null || a.removed_until === null) return 'does not record the retention it was written under'
  if (a.retention_days < AUDIT_RETENTION_MIN_DAYS) return `was written under a retention of ${a.retention_days} days, below the minimum of ${AUDIT_RETENTION_MIN_DAYS}`
  if (a.cut_too_late) return `removed events up to ${a.cut_off}, later than its retention of ${a.retention_days} days allows`
  if (a.removed_too_new) return `removed an event of ${a.removed_until}, not older than its cut-off ${a.cut_off}`
  return null
}

type Row = { id: string; chain: string; seq: string; prev_hash: string; hash: string; computed: string }

export type ChainHead = { chain: string; seq: number; hash: string }

/** Every chain's head as it is now: what an operator exports and keeps outside the database. */
export async function readChainHeads(): Promise<ChainHead[]> {
  const rows = await sql<{ chain: string; seq: string; hash: string }[]>`select chain, seq, hash from audit_chain_heads order by chain`
  return rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), hash: r.hash }))
}

/**
 * `knownHeads`: heads exported earlier and kept outside the database. Each must still be in its
 * chain, unchanged (or pruned by retention): a chain rewritten together with its head, which the
 * database alone cannot show, fails here.
 */
export async function verifyAuditChains(options: { maxProblems?: number; knownHeads?: ChainHead[] } = {}): Promise<AuditVerification> {
  const maxProblems = options.maxProblems ?? 20
  const known = new Map((options.knownHeads ?? []).map((h) => [h.chain, h]))
  const seenAtKnown = new Map<string, string>()
  const anchors = new Map<string, { seq: number; hash: string }>()
  const anchorRows: AnchorRow[] = []
  const heads = new Map<string, { seq: number; hash: string }>()
  const chains = new Map<string, ChainReport & { expectSeq: number; expectPrev: string }>()
  const broken: BrokenEvent[] = []
  let events = 0
  const note = (b: BrokenEvent) => {
    if (broken.length < maxProblems) broken.push(b)
    chains.get(b.chain)!.ok = false
  }
  // A cursor keeps memory flat on a long history; a repeatable-read snapshot keeps concurrent
  // writers from showing up half-way through a chain.
  await sql.begin('isolation level repeatable read read only', async (tx) => {
    for (const a of await tx<AnchorRow[]>`
      select chain, last_removed_seq, last_removed_hash, retention_days, pruned_at::text, cut_off::text, removed_until::text,
        cut_off > pruned_at - make_interval(hours => retention_days * 24) as cut_too_late,
        removed_until >= cut_off as removed_too_new, pruned_at > now() as from_the_future
      from audit_anchors order by chain`) {
      anchors.set(a.chain, { seq: Number(a.last_removed_seq), hash: a.last_removed_hash })
      anchorRows.push(a)
    }
    for (const h of await tx<{ chain: string; seq: string; hash: string }[]>`select chain, seq, hash from audit_chain_heads`) {
      heads.set(h.chain, { seq: Number(h.seq), hash: h.hash })
    }
    const cursor = tx<Row[]>`select e.id, e.chain, e.seq, e.prev_hash, e.hash, audit_event_hash(e) as computed
      from audit_events e order by e.chain, e.seq`.cursor(1000)
    for await (const rows of cursor) {
      for (const row of rows) {
        events++
        const seq = Number(row.seq)
        let c = chains.get(row.chain)
        if (!c) {
          const anchor = anchors.get(row.chain)
          c = { chain: row.chain, events: 0, firstSeq: seq, lastSeq: null, anchoredAt: anchor?.seq ?? null, ok: true, expectSeq: (anchor?.seq ?? 0) + 1, expectPrev: anchor?.hash ?? GENESIS }
          chains.set(row.chain, c)
        }
        c.events++
        c.lastSeq = seq
        const id = Number(row.id)
        if (seq !== c.expectSeq) {
          note({ chain: row.chain, id, seq, problem: 'missing', message: `chain ${row.chain}: event ${c.expectSeq}${seq - c.expectSeq > 1 ? `–${seq - 1}` : ''} is missing before event ${seq} (id ${id}): a row was deleted` })
        } else if (row.prev_hash !== c.expectPrev) {
          note({ chain: row.chain, id, seq, problem: 'link', message: `chain ${row.chain}: event ${seq} (id ${id}) does not link to the event before it: an earlier row was changed or removed` })
        }
        if (row.computed !== row.hash) {
          note({ chain: row.chain, id, seq, problem: 'edited', message: `chain ${row.chain}: event ${seq} (id ${id}) was edited after it was written (its hash does not match its content)` })
        }
        if (known.get(row.chain)?.seq === seq) seenAtKnown.set(row.chain, row.hash)
        c.expectSeq = seq + 1
        c.expectPrev = row.hash
      }
    }
  })
  // Each chain must end where its head says; a chain pruned empty ends at its anchor.
  for (const [chain, head] of heads) {
    let c = chains.get(chain)
    if (!c) {
      const anchor = anchors.get(chain)
      c = { chain, events: 0, firstSeq: null, lastSeq: null, anchoredAt: anchor?.seq ?? null, ok: true, expectSeq: (anchor?.seq ?? 0) + 1, expectPrev: anchor?.hash ?? GENESIS }
      chains.set(chain, c)
    }
    const endSeq = c.expectSeq - 1
    if (endSeq < head.seq) {
      note({ chain, id: null, seq: endSeq + 1, problem: 'truncated', message: `chain ${chain}: event${head.seq > endSeq + 1 ? `s ${endSeq + 1}–${head.seq} are` : ` ${head.seq} is`} missing at the end of the chain: the newest rows were deleted` })
    } else if (endSeq === head.seq && c.expectPrev !== head.hash) {
      note({ chain, id: null, seq: endSeq, problem: 'truncated', message: `chain ${chain}: event ${endSeq} is not the event the chain's head recorded: the end of the chain was replaced` })
    }
  }
  // Heads exported earlier: the event each named must still be there with the same hash.
  for (const [chain, k] of known) {
    const anchor = anchors.get(chain)
    const found = seenAtKnown.get(chain) ?? (anchor?.seq === k.seq ? anchor.hash : undefined)
    if (found === k.hash) continue
    if (found === undefined && anchor && anchor.seq > k.seq) continue // pruned by retention since the export
    if (!chains.has(chain)) chains.set(chain, { chain, events: 0, firstSeq: null, lastSeq: null, anchoredAt: anchor?.seq ?? null, ok: true, expectSeq: 0, expectPrev: GENESIS })
    note({
      chain, id: null, seq: k.seq, problem: 'rewritten',
      message: found === undefined
        ? `chain ${chain}: event ${k.seq}, recorded in the exported heads, is no longer in the chain: the chain was cut and rewritten`
        : `chain ${chain}: event ${k.seq} is not the one recorded in the exported heads: the chain was rewritten`,
    })
  }
  for (const a of anchorRows) {
    const problem = anchorProblem(a)
    if (!problem) continue
    if (!chains.has(a.chain)) chains.set(a.chain, { chain: a.chain, events: 0, firstSeq: null, lastSeq: null, anchoredAt: Number(a.last_removed_seq), ok: true, expectSeq: 0, expectPrev: GENESIS })
    note({ chain: a.chain, id: null, seq: Number(a.last_removed_seq), problem: 'retention', message: `chain ${a.chain}: the retention anchor at event ${a.last_removed_seq} (pruned ${a.pruned_at}) ${problem}` })
  }
  for (const c of chains.values()) {
    if (!heads.has(c.chain)) note({ chain: c.chain, id: null, seq: c.lastSeq ?? 0, problem: 'truncated', message: `chain ${c.chain}: its head is missing from audit_chain_heads, so its end cannot be checked` })
  }
  const reports = [...chains.values()].map(({ expectSeq: _s, expectPrev: _p, ...r }) => r)
  return { ok: broken.length === 0, chains: reports, events, firstBroken: broken[0] ?? null, broken }
}
