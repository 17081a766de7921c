-- Decision 082: a member's next grace reminder moves out of memberships into its own narrow table.
-- The grace sweep moves that moment on for every member it reminds (7, 3, 1 days before the
-- deadline, then the expiry). next_reminder_at was indexed (the sweep's claim reads that index), and
-- an update that changes an indexed column is never HOT: on memberships each move wrote a new entry
-- into all eleven of its indexes (about 70% of the sweep's claim statement). Here a move writes into
-- two (the primary key and membership_reminders_due). A member who owes nothing has no row.
-- The semantics are those of decisions 077 and 078: a membership's own write schedules the moment
-- under the region's policy (now an AFTER trigger, which upserts or deletes the row), a policy save
-- marks the policy and the sweep reschedules its members. Written by hand: drizzle-kit does not model
-- functions or triggers.
CREATE TABLE "membership_reminders" (
	"membership_id" uuid PRIMARY KEY NOT NULL,
	"next_reminder_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
INSERT INTO "membership_reminders" ("membership_id", "next_reminder_at")
  SELECT id, next_reminder_at FROM memberships WHERE next_reminder_at IS NOT NULL;--> statement-breakpoint
ALTER TABLE "membership_reminders" ADD CONSTRAINT "membership_reminders_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "membership_reminders_due" ON "membership_reminders" USING btree ("next_reminder_at");--> statement-breakpoint
DROP TRIGGER IF EXISTS memberships_schedule_reminder_zz ON memberships;--> statement-breakpoint
DROP FUNCTION IF EXISTS memberships_schedule_reminder();--> statement-breakpoint
DROP INDEX "memberships_next_reminder";--> statement-breakpoint
ALTER TABLE "memberships" DROP COLUMN "next_reminder_at";--> statement-breakpoint
-- A membership's own write schedules its next reminder under the region's policy as it is now (one
-- primary-key probe of region_policies): the row is written when the moment changes, deleted when
-- nothing is owed. After the row is written, so that the foreign key finds a new membership.
CREATE FUNCTION memberships_schedule_reminder() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  next timestamptz;
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.has_totp, NEW.has_key, NEW.exempt_until, NEW.extension_deadline, NEW.user_region, NEW.organization_id, NEW.joined_at)
      IS NOT DISTINCT FROM (OLD.has_totp, OLD.has_key, OLD.exempt_until, OLD.extension_deadline, OLD.user_region, OLD.organization_id, OLD.joined_at) THEN
    RETURN NULL;
  END IF;
  next := (SELECT member_next_reminder(
      member_deadline(p.mode, p.required_since, p.grace_period_days, NEW.joined_at, NEW.extension_deadline),
      member_allowed_factor(p.allowed_methods, NEW.has_totp, NEW.has_key), NEW.exempt_until)
    FROM region_policies p WHERE p.organization_id = NEW.organization_id AND p.region = NEW.user_region);
  IF next IS NULL THEN
    IF TG_OP = 'UPDATE' THEN
      DELETE FROM membership_reminders WHERE membership_id = NEW.id;
    END IF;
  ELSE
    INSERT INTO membership_reminders (membership_id, next_reminder_at) VALUES (NEW.id, next)
      ON CONFLICT (membership_id) DO UPDATE SET next_reminder_at = EXCLUDED.next_reminder_at
      WHERE membership_reminders.next_reminder_at IS DISTINCT FROM EXCLUDED.next_reminder_at;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER memberships_schedule_reminder AFTER INSERT OR UPDATE OF has_totp, has_key, exempt_until, extension_deadline, user_region, organization_id, joined_at ON memberships
  FOR EACH ROW EXECUTE FUNCTION memberships_schedule_reminder();
