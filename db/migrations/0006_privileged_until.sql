ALTER TABLE "users" ADD COLUMN "privileged_until" timestamp with time zone;--> statement-breakpoint
-- Decision 057: an owner or admin who loses that role (demoted, removed, or their organization
-- deleted) stays "privileged" for 30 days, so that a demotion cannot open the way to an
-- organization admin's reset. A trigger, so that every path that changes memberships (console,
-- CLI, cascades) records it in the same transaction. Written by hand: drizzle-kit does not model triggers.
CREATE OR REPLACE FUNCTION memberships_remember_privilege() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.role IN ('owner', 'admin') AND (TG_OP = 'DELETE' OR NEW.role NOT IN ('owner', 'admin')) THEN
    UPDATE users SET privileged_until = greatest(privileged_until, now() + interval '30 days') WHERE id = OLD.user_id;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER memberships_remember_privilege AFTER UPDATE OF role OR DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION memberships_remember_privilege();
--> statement-breakpoint
-- Demotions and removals of the last 30 days, from the audit trail, for accounts changed before this migration.
UPDATE users u SET privileged_until = e.last_at + interval '30 days'
FROM (
  SELECT subject_id, max(created_at) AS last_at FROM audit_events
  WHERE created_at > now() - interval '30 days' AND subject_id IS NOT NULL
    AND ((action = 'org.role_changed' AND details->>'old' IN ('owner', 'admin') AND details->>'new' NOT IN ('owner', 'admin'))
      OR (action = 'org.member_removed' AND details->>'role' IN ('owner', 'admin')))
  GROUP BY subject_id
) e
WHERE u.id = e.subject_id;
