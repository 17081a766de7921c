ALTER TABLE "audit_anchors" ADD COLUMN "retention_days" integer;--> statement-breakpoint
ALTER TABLE "audit_anchors" ADD COLUMN "cut_off" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "audit_anchors" ADD COLUMN "removed_until" timestamp with time zone;--> statement-breakpoint
-- Hand-written from here (decision 058). Events already written keep the encoding they were hashed
-- with (version 1); every new event gets version 2.
ALTER TABLE "audit_events" ADD COLUMN "hash_version" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "hash_version" SET DEFAULT 2;--> statement-breakpoint
-- The one definition of an event's hash. Version 2 hashes a JSON array of the fields in a fixed
-- order (jsonb's text form is canonical), so no text can move from one field to the next unseen, and
-- NULL stays apart from ''. Version 1 is the '|'-joined text of migration 0001, unchanged, so chains
-- written before still verify. Any other version has no hash, which verify-audit reports as an edit.
CREATE OR REPLACE FUNCTION audit_event_hash(e audit_events) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT CASE e.hash_version
    WHEN 2 THEN encode(sha256(convert_to(jsonb_build_array(
      e.hash_version, e.prev_hash, e.chain, e.seq, e.organization_id, e.actor_id, e.actor_label, e.subject_id,
      e.action, e.ip, e.user_agent, e.details, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    )::text, 'UTF8')), 'hex')
    WHEN 1 THEN encode(sha256(convert_to(concat_ws('|',
      e.prev_hash, e.chain, e.seq::text, coalesce(e.organization_id::text, ''), coalesce(e.actor_id::text, ''),
      e.actor_label, coalesce(e.subject_id::text, ''), e.action, coalesce(e.ip, ''), coalesce(e.user_agent, ''),
      e.details::text, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    ), 'UTF8')), 'hex')
  END
$$;
--> statement-breakpoint
-- The chain trigger runs as the owner: the application role may only read audit_chain_heads, so
-- the head moves only here. It always writes version 2, whatever the insert asked for. Like every
-- function here its search_path is pinned, with pg_temp last: otherwise a session's temporary
-- table named audit_chain_heads would be found first.
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('audit:' || NEW.chain, 0));
  SELECT seq, hash INTO last_seq, last_hash FROM audit_chain_heads WHERE chain = NEW.chain;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
  NEW.created_at := date_trunc('microseconds', coalesce(NEW.created_at, now()));
  NEW.hash_version := 2;
  NEW.hash := audit_event_hash(NEW);
  INSERT INTO audit_chain_heads (chain, seq, hash, updated_at) VALUES (NEW.chain, NEW.seq, NEW.hash, now())
    ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- Retention takes no cut-off from its caller: it reads the retention in force (the organization's
-- audit_retention_days; for the platform chain the longest of any organization, at least the 7-year
-- default, since members' security events show on every organization's audit page), refuses one
-- below the 30-day minimum, and records it on the anchor for verify-audit.
DROP FUNCTION IF EXISTS audit_prune(text, timestamptz);
--> statement-breakpoint
CREATE FUNCTION audit_prune(p_chain text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  min_days constant integer := 30;
  days integer;
  cutoff timestamptz;
  keep_from bigint;
  cut_seq bigint;
  cut_hash text;
  newest timestamptz;
  removed integer;
BEGIN
  IF p_chain = 'platform' THEN
    SELECT greatest(2557, max(audit_retention_days)) INTO days FROM organizations;
  ELSE
    SELECT audit_retention_days INTO days FROM organizations WHERE id::text = p_chain;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'audit_prune: chain % is no organization''s, so it has no retention', p_chain USING ERRCODE = 'no_data_found';
    END IF;
  END IF;
  IF days IS NULL OR days < min_days THEN
    RAISE EXCEPTION 'audit_prune: retention of % days for chain % is below the minimum of % days; nothing removed', days, p_chain, min_days
      USING ERRCODE = 'check_violation';
  END IF;
  -- In hours, not calendar days, so the cut-off does not move with the session's time zone.
  cutoff := now() - make_interval(hours => days * 24);
  PERFORM pg_advisory_xact_lock(hashtextextended('audit:' || p_chain, 0));
  -- Only a prefix of the chain leaves, and only events that are all older than the cut-off: an
  -- event written with an old time after newer ones never takes those newer ones with it.
  SELECT min(seq) INTO keep_from FROM audit_events WHERE chain = p_chain AND created_at >= cutoff;
  SELECT seq, hash INTO cut_seq, cut_hash FROM audit_events
    WHERE chain = p_chain AND (keep_from IS NULL OR seq < keep_from) ORDER BY seq DESC LIMIT 1;
  IF cut_seq IS NULL THEN RETURN 0; END IF;
  SELECT max(created_at) INTO newest FROM audit_events WHERE chain = p_chain AND seq <= cut_seq;
  DELETE FROM audit_events WHERE chain = p_chain AND seq <= cut_seq;
  GET DIAGNOSTICS removed = ROW_COUNT;
  INSERT INTO audit_anchors (chain, last_removed_seq, last_removed_hash, pruned_at, retention_days, cut_off, removed_until)
    VALUES (p_chain, cut_seq, cut_hash, now(), days, cutoff, newest)
    ON CONFLICT (chain) DO UPDATE SET last_removed_seq = EXCLUDED.last_removed_seq, last_removed_hash = EXCLUDED.last_removed_hash,
      pruned_at = EXCLUDED.pruned_at, retention_days = EXCLUDED.retention_days, cut_off = EXCLUDED.cut_off, removed_until = EXCLUDED.removed_until;
  RETURN removed;
END
$$;
--> statement-breakpoint
-- Only the roles migrate grants it to (the application role) may prune.
REVOKE ALL ON FUNCTION audit_prune(text) FROM PUBLIC;
--> statement-breakpoint
-- The delete guard follows the new signature: a DELETE passes only when its immediate caller is audit_prune(text).
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  stack text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    -- Line 1: this function; line 2: the DELETE statement; line 3: the function that ran it.
    IF split_part(stack, E'\n', 3) LIKE 'PL/pgSQL function audit_prune(text) line %' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
