-- Hand-written (decision 068). A member's security events go to one of eight platform chains,
-- 'platform:0' to 'platform:7', picked by their user id, so sign-ins of different members append
-- side by side instead of queueing on one chain's lock. Events about no member stay on 'platform'.
-- Every platform chain keeps the platform's retention: the longest of any organization, at least
-- the 7-year default.
CREATE OR REPLACE FUNCTION audit_prune(p_chain text) RETURNS integer
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
  IF p_chain = 'platform' OR p_chain ~ '^platform:[0-7]$' THEN
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
