import { bigint, bigserial, index, integer, jsonb, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

/**
 * Append-only (UPDATE, DELETE and TRUNCATE are refused by triggers, and the application role has
 * only SELECT and INSERT; see the hand-written migrations and decision 058). Each event carries the hash of the previous one in its chain: the
 * organization's id, or 'platform'.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chain: text('chain').notNull(),
    /** seq, prev_hash and hash are set by the audit_events_chain trigger. */
    seq: bigint('seq', { mode: 'number' }).notNull().default(0),
    organizationId: uuid('organization_id'),
    actorId: uuid('actor_id'),
    /** Who acted, in words: an email, 'cli', 'worker', 'system'. */
    actorLabel: text('actor_label').notNull(),
    subjectId: uuid('subject_id'),
    action: text('action').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    prevHash: text('prev_hash').notNull().default(''),
    hash: text('hash').notNull().default(''),
    /**
     * How audit_event_hash encodes this event: 1 = fields joined with '|' (events written before
     * decision 058), 2 = a JSON array. The chain trigger sets 2 on every new event.
     */
    hashVersion: smallint('hash_version').notNull().default(2),
  },
  (t) => [
    uniqueIndex('audit_events_chain_seq').on(t.chain, t.seq),
    index('audit_events_org_created').on(t.organizationId, t.createdAt),
    index('audit_events_subject_created').on(t.subjectId, t.createdAt),
    index('audit_events_created').on(t.createdAt),
  ],
)

/** Written by the retention function: where each chain resumes after pruning. */
export const auditAnchors = pgTable('audit_anchors', {
  chain: text('chain').primaryKey(),
  lastRemovedSeq: bigint('last_removed_seq', { mode: 'number' }).notNull(),
  lastRemovedHash: text('last_removed_hash').notNull(),
  prunedAt: timestamp('pruned_at', { withTimezone: true }).notNull().defaultNow(),
  /** The retention in force when audit_prune ran, and the cut-off it used (pruned_at − retention). Null on anchors written before decision 058. */
  retentionDays: integer('retention_days'),
  cutOff: timestamp('cut_off', { withTimezone: true }),
  /** The newest removed event's time: always before cut_off (verify-audit checks it). */
  removedUntil: timestamp('removed_until', { withTimezone: true }),
})

/**
 * Each chain's newest event, kept by the chain trigger in the same transaction as the event; it only
 * moves forward (a trigger refuses anything else). verify-audit compares each chain's end with it,
 * so removing the newest events of a chain is seen too.
 */
export const auditChainHeads = pgTable('audit_chain_heads', {
  chain: text('chain').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})
