ALTER TABLE "memberships" ADD COLUMN "user_name" text;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "user_email" text;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "user_kind" "user_kind";--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "user_region" text;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "has_totp" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "has_key" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "allowed_factor" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "exempt_until" timestamp with time zone;--> statement-breakpoint

-- Decision 076: the members list's read model. Each membership keeps what the members page, the
-- overview chart and the impact preview filter and sort on; PostgreSQL triggers write it in the
-- same transaction as every write it depends on, through ONE function, memberships_refresh, which
-- `gatehouse verify-members` also calls to repair. Written by hand: drizzle-kit does not model
-- functions or triggers. Sign-in enforcement never reads these columns (it reads the source tables).
--
-- Two layers:
--   the member's own facts  user_name, user_email, user_kind, user_region, has_totp, has_key
--                           (from users, totp_factors, webauthn_credentials: member_user_facts);
--   this organization's     allowed_factor, deadline, exempt_until, from those facts, joined_at,
--                           the policy of the organization in the member's region, the exemption and
--                           the extension (the three member_* expressions below).
-- Mirrors app/policy/member-status.server.ts (joinedStatus / joinedPendingDeadline, the oracle).

-- A member's own facts. EXISTS in the select list gets a hashed alternative from the planner, so the
-- view serves one user (index probes) and every user (hash) alike.
CREATE OR REPLACE VIEW member_user_facts AS
SELECT u.id AS user_id, u.name AS user_name, u.email AS user_email, u.kind AS user_kind, u.region AS user_region,
  EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS has_totp,
  EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = u.id) AS has_key
FROM users u;
--> statement-breakpoint
-- Holds a factor the policy's methods allow (email counts where allowed). NULL methods (the
-- organization has no policy row in the region) read as the default: every method allowed.
CREATE OR REPLACE FUNCTION member_allowed_factor(p_methods text[], p_has_totp boolean, p_has_key boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_methods IS NULL OR 'email' = ANY (p_methods)
    OR ('totp' = ANY (p_methods) AND p_has_totp) OR ('webauthn' = ANY (p_methods) AND p_has_key)
$$;
--> statement-breakpoint
-- The deadline, only under Required: the later of the extension and
-- greatest(coalesce(required_since, joined_at), joined_at) + grace days (an extension never shortens it).
CREATE OR REPLACE FUNCTION member_deadline(p_mode policy_mode, p_required_since timestamptz, p_grace_days integer, p_joined timestamptz, p_extension timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_mode = 'required'
    THEN greatest(p_extension, greatest(coalesce(p_required_since, p_joined), p_joined) + make_interval(days => p_grace_days)) END
$$;
--> statement-breakpoint
-- A service account's exemption here: until its end, or 'infinity' without one; NULL when not exempt.
CREATE OR REPLACE FUNCTION member_exempt_until(p_kind user_kind, p_has_exemption boolean, p_expires timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_kind = 'service' AND p_has_exemption THEN coalesce(p_expires, 'infinity'::timestamptz) END
$$;
--> statement-breakpoint
-- Every membership's read model computed from the source tables (the member's facts, the policy of
-- the organization in the member's region, the exemption, the extension).
CREATE OR REPLACE VIEW membership_read_model AS
SELECT s.id, s.user_id, s.organization_id, f.user_name, f.user_email, f.user_kind, f.user_region, f.has_totp, f.has_key,
  member_allowed_factor(p.allowed_methods, f.has_totp, f.has_key) AS allowed_factor,
  member_deadline(p.mode, p.required_since, p.grace_period_days, s.joined_at, x.deadline) AS deadline,
  member_exempt_until(f.user_kind, e.id IS NOT NULL, e.expires_at) AS exempt_until
FROM memberships s
JOIN member_user_facts f ON f.user_id = s.user_id
LEFT JOIN region_policies p ON p.organization_id = s.organization_id AND p.region = f.user_region
LEFT JOIN exemptions e ON e.organization_id = s.organization_id AND e.user_id = s.user_id AND e.region = f.user_region
LEFT JOIN deadline_extensions x ON x.organization_id = s.organization_id AND x.user_id = s.user_id AND x.region = f.user_region;
--> statement-breakpoint
-- Recomputes the read model of a set of memberships from the source tables and writes only the rows
-- whose values change (one statement, so each row is written at most once); returns how many rows
-- it wrote. The set: the memberships of `p_users`; or of organization `p_org` (its members in region
-- `p_region` when given); or every membership (all NULL).
-- `p_policy_only` (a region policy changed: p_org and p_region given) recomputes only what a policy
-- decides (allowed_factor, deadline) from the row's own stored facts, so that a change on a
-- 100,000-member region reads no users row: a policy changes none of those facts.
CREATE OR REPLACE FUNCTION memberships_refresh(p_users uuid[] DEFAULT NULL, p_org uuid DEFAULT NULL, p_region text DEFAULT NULL, p_policy_only boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql
-- Custom plans (each call plans for its own set: one user, one region, everything; a large p_users
-- array is then hashed); no JIT, whose compile time would cost more than the update itself.
SET plan_cache_mode = force_custom_plan SET jit = off AS $$
DECLARE
  n bigint;
  pol region_policies%ROWTYPE;
BEGIN
  IF p_policy_only THEN
    -- No policy row (deleted): every field NULL, which reads as the default (optional, all allowed).
    SELECT * INTO pol FROM region_policies WHERE organization_id = p_org AND region = p_region;
    UPDATE memberships m SET allowed_factor = c.allowed_factor, deadline = c.deadline
    FROM (
      SELECT s.id, member_allowed_factor(pol.allowed_methods, s.has_totp, s.has_key) AS allowed_factor,
        member_deadline(pol.mode, pol.required_since, pol.grace_period_days, s.joined_at, x.deadline) AS deadline
      FROM memberships s
      LEFT JOIN deadline_extensions x ON x.organization_id = s.organization_id AND x.user_id = s.user_id AND x.region = s.user_region
      WHERE s.organization_id = p_org AND s.user_region = p_region
    ) c
    WHERE m.id = c.id AND m.organization_id = p_org AND m.user_region = p_region
      AND (m.allowed_factor, m.deadline) IS DISTINCT FROM (c.allowed_factor, c.deadline);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
  END IF;
  UPDATE memberships m SET user_name = c.user_name, user_email = c.user_email, user_kind = c.user_kind, user_region = c.user_region,
    has_totp = c.has_totp, has_key = c.has_key, allowed_factor = c.allowed_factor, deadline = c.deadline, exempt_until = c.exempt_until
  FROM membership_read_model c
  WHERE m.id = c.id
    AND (p_users IS NULL OR (m.user_id = ANY (p_users) AND c.user_id = ANY (p_users)))
    AND (p_org IS NULL OR (m.organization_id = p_org AND c.organization_id = p_org))
    AND (p_region IS NULL OR c.user_region = p_region OR m.user_region = p_region)
    AND (m.user_name, m.user_email, m.user_kind, m.user_region, m.has_totp, m.has_key, m.allowed_factor, m.deadline, m.exempt_until)
      IS DISTINCT FROM (c.user_name, c.user_email, c.user_kind, c.user_region, c.has_totp, c.has_key, c.allowed_factor, c.deadline, c.exempt_until);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
--> statement-breakpoint
-- A new membership gets its values before it is written (whatever the caller put in these columns
-- is replaced): the same joins and expressions as membership_read_model, for the row being inserted.
CREATE OR REPLACE FUNCTION memberships_fill_read_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  SELECT f.user_name, f.user_email, f.user_kind, f.user_region, f.has_totp, f.has_key,
    member_allowed_factor(p.allowed_methods, f.has_totp, f.has_key),
    member_deadline(p.mode, p.required_since, p.grace_period_days, NEW.joined_at, x.deadline),
    member_exempt_until(f.user_kind, e.id IS NOT NULL, e.expires_at)
  INTO NEW.user_name, NEW.user_email, NEW.user_kind, NEW.user_region, NEW.has_totp, NEW.has_key, NEW.allowed_factor, NEW.deadline, NEW.exempt_until
  FROM member_user_facts f
  LEFT JOIN region_policies p ON p.organization_id = NEW.organization_id AND p.region = f.user_region
  LEFT JOIN exemptions e ON e.organization_id = NEW.organization_id AND e.user_id = NEW.user_id AND e.region = f.user_region
  LEFT JOIN deadline_extensions x ON x.organization_id = NEW.organization_id AND x.user_id = NEW.user_id AND x.region = f.user_region
  WHERE f.user_id = NEW.user_id;
  IF NOT FOUND THEN
    -- No such user: placeholders, so that the foreign key refuses the row with its usual error.
    NEW.user_name := ''; NEW.user_email := ''; NEW.user_kind := 'human'; NEW.user_region := '';
    NEW.has_totp := false; NEW.has_key := false; NEW.allowed_factor := true; NEW.deadline := NULL; NEW.exempt_until := NULL;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER memberships_fill_read_model BEFORE INSERT ON memberships FOR EACH ROW EXECUTE FUNCTION memberships_fill_read_model();

--> statement-breakpoint
-- The memberships of the users a statement touched (transition tables: one refresh per statement,
-- so a bulk insert of factors costs one set-based update).
CREATE OR REPLACE FUNCTION member_facts_changed_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A statement that touched no row changes nothing (and a NULL set would mean every membership).
  IF EXISTS (SELECT 1 FROM new_rows) THEN
    PERFORM memberships_refresh(p_users => (SELECT array_agg(DISTINCT user_id) FROM new_rows));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION member_facts_changed_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM old_rows) THEN
    PERFORM memberships_refresh(p_users => (SELECT array_agg(DISTINCT user_id) FROM old_rows));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- One row's user (and, for a move to another user, the old one too).
CREATE OR REPLACE FUNCTION member_facts_changed_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM memberships_refresh(p_users => ARRAY[NEW.user_id]);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM memberships_refresh(p_users => ARRAY[OLD.user_id]);
  ELSE
    PERFORM memberships_refresh(p_users => ARRAY[OLD.user_id, NEW.user_id]);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- A membership moved to another user, organization or join date: recomputed after the update.
CREATE TRIGGER memberships_read_model_update AFTER UPDATE OF user_id, organization_id, joined_at ON memberships FOR EACH ROW
WHEN ((OLD.user_id, OLD.organization_id, OLD.joined_at) IS DISTINCT FROM (NEW.user_id, NEW.organization_id, NEW.joined_at))
EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
-- Users: name, email, kind, region. A sign-in's updates (last sign-in, failed attempts) change none
-- of them and the WHEN clause skips them without calling any function.
CREATE OR REPLACE FUNCTION users_read_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM memberships_refresh(p_users => ARRAY[NEW.id]);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_read_model AFTER UPDATE OF name, email, kind, region ON users FOR EACH ROW
WHEN ((OLD.name, OLD.email, OLD.kind, OLD.region) IS DISTINCT FROM (NEW.name, NEW.email, NEW.kind, NEW.region))
EXECUTE FUNCTION users_read_model();
--> statement-breakpoint
CREATE TRIGGER totp_factors_read_model_insert AFTER INSERT ON totp_factors REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION member_facts_changed_new();
--> statement-breakpoint
CREATE TRIGGER totp_factors_read_model_delete AFTER DELETE ON totp_factors REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION member_facts_changed_old();
--> statement-breakpoint
-- Confirmation (and a replacement's) sets confirmed_at; a sign-in's replay guard changes neither column.
CREATE TRIGGER totp_factors_read_model_update AFTER UPDATE OF confirmed_at, user_id ON totp_factors FOR EACH ROW
WHEN ((OLD.confirmed_at IS NULL) IS DISTINCT FROM (NEW.confirmed_at IS NULL) OR OLD.user_id IS DISTINCT FROM NEW.user_id)
EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
CREATE TRIGGER webauthn_credentials_read_model_insert AFTER INSERT ON webauthn_credentials REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION member_facts_changed_new();
--> statement-breakpoint
CREATE TRIGGER webauthn_credentials_read_model_delete AFTER DELETE ON webauthn_credentials REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION member_facts_changed_old();
--> statement-breakpoint
CREATE TRIGGER webauthn_credentials_read_model_update AFTER UPDATE OF user_id ON webauthn_credentials FOR EACH ROW
WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
-- Exemptions and extensions: the memberships of that user (a handful). The exemption sweep's
-- expiry_recorded_at changes nothing here and the WHEN clause skips it.
CREATE TRIGGER exemptions_read_model AFTER INSERT OR DELETE ON exemptions FOR EACH ROW EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
CREATE TRIGGER exemptions_read_model_update AFTER UPDATE ON exemptions FOR EACH ROW
WHEN ((OLD.organization_id, OLD.user_id, OLD.region, OLD.expires_at) IS DISTINCT FROM (NEW.organization_id, NEW.user_id, NEW.region, NEW.expires_at))
EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
CREATE TRIGGER deadline_extensions_read_model AFTER INSERT OR DELETE ON deadline_extensions FOR EACH ROW EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
CREATE TRIGGER deadline_extensions_read_model_update AFTER UPDATE ON deadline_extensions FOR EACH ROW
WHEN ((OLD.organization_id, OLD.user_id, OLD.region, OLD.deadline) IS DISTINCT FROM (NEW.organization_id, NEW.user_id, NEW.region, NEW.deadline))
EXECUTE FUNCTION member_facts_changed_row();
--> statement-breakpoint
-- A region's policy: that organization's members in that region, and only the values a policy
-- decides (allowed_factor, deadline); only rows whose values change are written. Fields a policy
-- change leaves alone (on_deadline, remember_device_days, updated_at...) call nothing.
CREATE OR REPLACE FUNCTION region_policies_read_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM memberships_refresh(p_org => OLD.organization_id, p_region => OLD.region, p_policy_only => true);
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR (OLD.organization_id, OLD.region) IS DISTINCT FROM (NEW.organization_id, NEW.region)) THEN
    PERFORM memberships_refresh(p_org => NEW.organization_id, p_region => NEW.region, p_policy_only => true);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER region_policies_read_model AFTER INSERT OR DELETE ON region_policies FOR EACH ROW EXECUTE FUNCTION region_policies_read_model();
--> statement-breakpoint
CREATE TRIGGER region_policies_read_model_update AFTER UPDATE ON region_policies FOR EACH ROW
WHEN ((OLD.organization_id, OLD.region, OLD.mode, OLD.allowed_methods, OLD.grace_period_days, OLD.required_since)
  IS DISTINCT FROM (NEW.organization_id, NEW.region, NEW.mode, NEW.allowed_methods, NEW.grace_period_days, NEW.required_since))
EXECUTE FUNCTION region_policies_read_model();
--> statement-breakpoint
-- Backfill: the same function as every trigger, over every membership; then the columns are required.
SELECT memberships_refresh();--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "user_name" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "user_email" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "user_kind" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ALTER COLUMN "user_region" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "memberships_org_name" ON "memberships" USING btree ("organization_id",lower("user_name"),"id");--> statement-breakpoint
CREATE INDEX "memberships_org_email" ON "memberships" USING btree ("organization_id","user_email","id");--> statement-breakpoint
CREATE INDEX "memberships_org_joined" ON "memberships" USING btree ("organization_id","joined_at","id");--> statement-breakpoint
CREATE INDEX "memberships_org_region" ON "memberships" USING btree ("organization_id","user_region","id");--> statement-breakpoint
CREATE INDEX "memberships_org_role" ON "memberships" USING btree ("organization_id","role","id");--> statement-breakpoint
CREATE INDEX "memberships_org_kind" ON "memberships" USING btree ("organization_id","user_kind","id");--> statement-breakpoint
CREATE INDEX "memberships_org_pending" ON "memberships" USING btree ("organization_id","deadline","id") WHERE "memberships"."deadline" is not null and not "memberships"."allowed_factor";
