-- Decision 078: a region policy is joined at read time, so that saving one writes no membership row.
-- The members read model (decision 076) keeps beside each membership only facts that no policy
-- decides: the user's name, email, kind and region, has_totp, has_key, the exemption's end
-- (exempt_until) and, new here, the extension's deadline (extension_deadline). Whether the member
-- holds an allowed factor and the deadline are computed when read, from the organization's one
-- policy row in the member's region (member_allowed_factor, member_deadline over those columns):
-- app/policy/member-status.server.ts. allowed_factor and deadline are dropped, with the triggers
-- that rewrote them on every policy save (12.3 s for a save at 20,000 members).
--
-- The grace sweep's next_reminder_at (decision 077) depends on the policy. A membership's own write
-- schedules it (a trigger reads the region's policy row); a policy save only marks the policy
-- `reminders_stale`, and the grace sweep reschedules that region's members (one set-based
-- statement) before it claims due reminders, then clears the mark if the policy is still the one it
-- used. Written by hand: drizzle-kit does not model functions or triggers.
DROP TRIGGER IF EXISTS region_policies_read_model ON region_policies;--> statement-breakpoint
DROP TRIGGER IF EXISTS region_policies_read_model_update ON region_policies;--> statement-breakpoint
DROP FUNCTION IF EXISTS region_policies_read_model();--> statement-breakpoint
DROP TRIGGER IF EXISTS memberships_schedule_reminder_zz ON memberships;--> statement-breakpoint
DROP FUNCTION IF EXISTS memberships_schedule_reminder();--> statement-breakpoint
DROP FUNCTION IF EXISTS memberships_refresh(uuid[], uuid, text, boolean);--> statement-breakpoint
DROP VIEW IF EXISTS membership_read_model;--> statement-breakpoint
DROP INDEX "memberships_org_pending";--> statement-breakpoint
ALTER TABLE "memberships" DROP COLUMN "allowed_factor";--> statement-breakpoint
ALTER TABLE "memberships" DROP COLUMN "deadline";--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "extension_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "region_policies" ADD COLUMN "reminders_stale" boolean DEFAULT true NOT NULL;--> statement-breakpoint
-- Every membership's policy-independent read model, computed from the source tables.
CREATE VIEW membership_read_model AS
SELECT s.id, s.user_id, s.organization_id, f.user_name, f.user_email, f.user_kind, f.user_region, f.has_totp, f.has_key,
  member_exempt_until(f.user_kind, e.id IS NOT NULL, e.expires_at) AS exempt_until,
  x.deadline AS extension_deadline
FROM memberships s
JOIN member_user_facts f ON f.user_id = s.user_id
LEFT JOIN exemptions e ON e.organization_id = s.organization_id AND e.user_id = s.user_id AND e.region = f.user_region
LEFT JOIN deadline_extensions x ON x.organization_id = s.organization_id AND x.user_id = s.user_id AND x.region = f.user_region;
--> statement-breakpoint
-- Recomputes the read model of a set of memberships (those of `p_users`; of organization `p_org`;
-- or all) from the source tables and writes only the rows whose values change; returns how many.
-- No policy is read: a policy decides none of these columns.
CREATE FUNCTION memberships_refresh(p_users uuid[] DEFAULT NULL, p_org uuid DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan SET jit = off AS $$
DECLARE
  n bigint;
BEGIN
  UPDATE memberships m SET user_name = c.user_name, user_email = c.user_email, user_kind = c.user_kind, user_region = c.user_region,
    has_totp = c.has_totp, has_key = c.has_key, exempt_until = c.exempt_until, extension_deadline = c.extension_deadline
  FROM membership_read_model c
  WHERE m.id = c.id
    AND (p_users IS NULL OR (m.user_id = ANY (p_users) AND c.user_id = ANY (p_users)))
    AND (p_org IS NULL OR (m.organization_id = p_org AND c.organization_id = p_org))
    AND (m.user_name, m.user_email, m.user_kind, m.user_region, m.has_totp, m.has_key, m.exempt_until, m.extension_deadline)
      IS DISTINCT FROM (c.user_name, c.user_email, c.user_kind, c.user_region, c.has_totp, c.has_key, c.exempt_until, c.extension_deadline);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
--> statement-breakpoint
-- A new membership gets its values before it is written (whatever the caller put in these columns
-- is replaced). Direct index probes for the one user (no view), so a bulk insert costs a few probes a row.
CREATE OR REPLACE FUNCTION memberships_fill_read_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  SELECT u.name, u.email, u.kind, u.region,
    EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL),
    EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = u.id)
  INTO NEW.user_name, NEW.user_email, NEW.user_kind, NEW.user_region, NEW.has_totp, NEW.has_key
  FROM users u WHERE u.id = NEW.user_id;
  IF NOT FOUND THEN
    -- No such user: placeholders, so that the foreign key refuses the row with its usual error.
    NEW.user_name := ''; NEW.user_email := ''; NEW.user_kind := 'human'; NEW.user_region := '';
    NEW.has_totp := false; NEW.has_key := false; NEW.exempt_until := NULL; NEW.extension_deadline := NULL;
    RETURN NEW;
  END IF;
  NEW.exempt_until := (SELECT member_exempt_until(NEW.user_kind, true, e.expires_at) FROM exemptions e
    WHERE e.organization_id = NEW.organization_id AND e.user_id = NEW.user_id AND e.region = NEW.user_region);
  NEW.extension_deadline := (SELECT x.deadline FROM deadline_extensions x
    WHERE x.organization_id = NEW.organization_id AND x.user_id = NEW.user_id AND x.region = NEW.user_region);
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- When the next grace reminder of a member falls due, from its deadline, whether it holds an allowed
-- factor, and its exemption: 7 days before the deadline, or the end of the exemption when later;
-- NULL when nothing is owed.
CREATE FUNCTION member_next_reminder(p_deadline timestamptz, p_allowed boolean, p_exempt_until timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_deadline IS NULL OR p_allowed THEN NULL ELSE greatest(p_deadline - interval '7 days', p_exempt_until) END
$$;
--> statement-breakpoint
-- A membership's own write schedules its next reminder under the region's policy as it is now (one
-- primary-key probe of region_policies). Named to run after memberships_fill_read_model (BEFORE
-- triggers fire in name order).
CREATE FUNCTION memberships_schedule_reminder() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR (NEW.has_totp, NEW.has_key, NEW.exempt_until, NEW.extension_deadline, NEW.user_region, NEW.organization_id, NEW.joined_at)
      IS DISTINCT FROM (OLD.has_totp, OLD.has_key, OLD.exempt_until, OLD.extension_deadline, OLD.user_region, OLD.organization_id, OLD.joined_at) THEN
    NEW.next_reminder_at := (SELECT member_next_reminder(
        member_deadline(p.mode, p.required_since, p.grace_period_days, NEW.joined_at, NEW.extension_deadline),
        member_allowed_factor(p.allowed_methods, NEW.has_totp, NEW.has_key), NEW.exempt_until)
      FROM region_policies p WHERE p.organization_id = NEW.organization_id AND p.region = NEW.user_region);
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER memberships_schedule_reminder_zz BEFORE INSERT OR UPDATE OF has_totp, has_key, exempt_until, extension_deadline, user_region, organization_id, joined_at ON memberships
  FOR EACH ROW EXECUTE FUNCTION memberships_schedule_reminder();
--> statement-breakpoint
-- A policy change marks the policy: its members' reminders are rescheduled by the grace sweep.
CREATE FUNCTION region_policies_reminders_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.reminders_stale := true;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER region_policies_reminders_stale_insert BEFORE INSERT ON region_policies FOR EACH ROW EXECUTE FUNCTION region_policies_reminders_stale();
--> statement-breakpoint
CREATE TRIGGER region_policies_reminders_stale_update BEFORE UPDATE ON region_policies FOR EACH ROW
WHEN ((OLD.organization_id, OLD.region, OLD.mode, OLD.allowed_methods, OLD.grace_period_days, OLD.required_since)
  IS DISTINCT FROM (NEW.organization_id, NEW.region, NEW.mode, NEW.allowed_methods, NEW.grace_period_days, NEW.required_since))
EXECUTE FUNCTION region_policies_reminders_stale();
--> statement-breakpoint
-- Backfill: the extensions (next_reminder_at already holds what the policies give; every policy is
-- marked stale by the column's default all the same, so the first sweep checks).
UPDATE memberships m SET extension_deadline = x.deadline FROM deadline_extensions x
  WHERE x.organization_id = m.organization_id AND x.user_id = m.user_id AND x.region = m.user_region;--> statement-breakpoint
-- Everything the status predicate reads of a region's members: the impact preview and the overview
-- chart count a 100,000-member region from this index alone (an index-only scan).
CREATE INDEX "memberships_org_region_facts" ON "memberships" USING btree ("organization_id","user_region","has_totp","has_key","joined_at","extension_deadline","exempt_until");
