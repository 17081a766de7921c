-- audit_events is append-only and hash-chained. Written by hand (drizzle-kit does not model triggers).

-- The one definition of an event's hash; the insert trigger and verify-audit both use it.
CREATE OR REPLACE FUNCTION audit_event_hash(e audit_events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws('|',
    e.prev_hash, e.chain, e.seq::text, coalesce(e.organization_id::text, ''), coalesce(e.actor_id::text, ''),
    e.actor_label, coalesce(e.subject_id::text, ''), e.action, coalesce(e.ip, ''), coalesce(e.user_agent, ''),
    e.details::text, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
  ), 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- Links each new event to the last one of its chain. The advisory lock serialises writers of one
-- chain (other chains go on in parallel), so concurrent inserts never fork a chain.
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('audit:' || NEW.chain, 0));
  SELECT seq, hash INTO last_seq, last_hash FROM audit_events WHERE chain = NEW.chain ORDER BY seq DESC LIMIT 1;
  IF last_seq IS NULL THEN
    SELECT last_removed_seq, last_removed_hash INTO last_seq, last_hash FROM audit_anchors WHERE chain = NEW.chain;
  END IF;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.created_at := date_trunc('microseconds', coalesce(NEW.created_at, now()));
  NEW.hash := audit_event_hash(NEW);
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_chain();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('gatehouse.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
-- Retention: the only way events leave. Removes a chain's events older than the cut-off (always a
-- prefix of the chain) and records where the chain now starts, so verify-audit can resume there.
CREATE OR REPLACE FUNCTION audit_prune(p_chain text, p_before timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  cut_seq bigint;
  cut_hash text;
  removed integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('audit:' || p_chain, 0));
  SELECT seq, hash INTO cut_seq, cut_hash FROM audit_events
    WHERE chain = p_chain AND created_at < p_before ORDER BY seq DESC LIMIT 1;
  IF cut_seq IS NULL THEN RETURN 0; END IF;
  PERFORM set_config('gatehouse.audit_prune', 'on', true);
  DELETE FROM audit_events WHERE chain = p_chain AND seq <= cut_seq;
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('gatehouse.audit_prune', 'off', true);
  INSERT INTO audit_anchors (chain, last_removed_seq, last_removed_hash, pruned_at)
    VALUES (p_chain, cut_seq, cut_hash, now())
    ON CONFLICT (chain) DO UPDATE SET last_removed_seq = EXCLUDED.last_removed_seq,
      last_removed_hash = EXCLUDED.last_removed_hash, pruned_at = EXCLUDED.pruned_at;
  RETURN removed;
END
$$;
