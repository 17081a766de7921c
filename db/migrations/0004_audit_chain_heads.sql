CREATE TABLE "audit_chain_heads" (
	"chain" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Hand-written below this line. The heads start from the events already written.
INSERT INTO audit_chain_heads (chain, seq, hash)
  SELECT DISTINCT ON (chain) chain, seq, hash FROM audit_events ORDER BY chain, seq DESC;
--> statement-breakpoint
-- Chains that were pruned empty resume from their anchor.
INSERT INTO audit_chain_heads (chain, seq, hash)
  SELECT chain, last_removed_seq, last_removed_hash FROM audit_anchors ON CONFLICT (chain) DO NOTHING;
--> statement-breakpoint
-- The chain now continues from its head, not from its newest surviving row: if the newest rows were
-- removed behind the triggers' back, the next event leaves a gap that verify-audit reports.
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('audit:' || NEW.chain, 0));
  SELECT seq, hash INTO last_seq, last_hash FROM audit_chain_heads WHERE chain = NEW.chain;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.created_at := date_trunc('microseconds', coalesce(NEW.created_at, now()));
  NEW.hash := audit_event_hash(NEW);
  INSERT INTO audit_chain_heads (chain, seq, hash, updated_at) VALUES (NEW.chain, NEW.seq, NEW.hash, now())
    ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- A head only moves forward, one event at a time; it is never deleted.
CREATE OR REPLACE FUNCTION audit_chain_heads_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq = OLD.seq + 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_heads only moves forward: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_chain_heads_guard BEFORE UPDATE OR DELETE ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only();
--> statement-breakpoint
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_heads_forward_only();
