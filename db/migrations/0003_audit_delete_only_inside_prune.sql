-- The retention bypass of the append-only triggers may no longer be opened by any session: a
-- DELETE on audit_events passes only when the statement's immediate caller is audit_prune()
-- itself (read from the PL/pgSQL call stack), so `set_config('gatehouse.audit_prune', 'on')`
-- followed by a DELETE is refused like any other. UPDATE and TRUNCATE stay refused always.
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  stack text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    -- Line 1: this function; line 2: the DELETE statement; line 3: the function that ran it.
    IF split_part(stack, E'\n', 3) LIKE 'PL/pgSQL function audit_prune(text,timestamp with time zone) line %' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
