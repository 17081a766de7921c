-- Decision 077: the grace sweep works on the members read model (decision 076). Each membership
-- carries next_reminder_at, the moment its next grace reminder (7, 3, 1 days before the deadline)
-- or its expiry (the deadline) falls due. This trigger sets it whenever the deadline, the allowed
-- factor or the exemption changes (the first threshold: 7 days before the deadline, or the end of
-- the exemption when later; 'infinity' for an exemption without end); the sweep moves it on to the
-- next threshold as it sends, and clears it after the expiry. NULL: nothing is owed. A sweep that
-- finds nothing due reads the partial index only. Written by hand: drizzle-kit does not model triggers.
ALTER TABLE "memberships" ADD COLUMN "next_reminder_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "memberships_next_reminder" ON "memberships" USING btree ("next_reminder_at") WHERE "memberships"."next_reminder_at" is not null;--> statement-breakpoint
-- The exemption expiry sweep claims lapsed, unrecorded exemptions through exemptions_expiry_pending.
CREATE INDEX "exemptions_expiry_pending" ON "exemptions" USING btree ("expires_at") WHERE expiry_recorded_at is null and expires_at is not null;--> statement-breakpoint
CREATE OR REPLACE FUNCTION memberships_schedule_reminder() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.deadline IS DISTINCT FROM OLD.deadline OR NEW.allowed_factor IS DISTINCT FROM OLD.allowed_factor
     OR NEW.exempt_until IS DISTINCT FROM OLD.exempt_until THEN
    NEW.next_reminder_at := CASE WHEN NEW.deadline IS NULL OR NEW.allowed_factor THEN NULL
      ELSE greatest(NEW.deadline - interval '7 days', NEW.exempt_until) END;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- Named to run after memberships_fill_read_model (BEFORE triggers fire in name order), which may
-- change the deadline when the join date changes: hence the columns it reads too.
CREATE TRIGGER memberships_schedule_reminder_zz BEFORE INSERT OR UPDATE OF deadline, allowed_factor, exempt_until, user_id, organization_id, joined_at ON memberships
  FOR EACH ROW EXECUTE FUNCTION memberships_schedule_reminder();
--> statement-breakpoint
UPDATE memberships SET next_reminder_at = greatest(deadline - interval '7 days', exempt_until)
  WHERE deadline IS NOT NULL AND NOT allowed_factor;
