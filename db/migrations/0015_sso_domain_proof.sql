-- DNS TXT proof of SSO email domains (decision 080). Several organizations may hold unverified
-- claims of a domain; a verified domain belongs to one organization only. Existing claims were
-- made without proof: they get a random token and stay unverified until their TXT record is checked.
ALTER TABLE "sso_domains" DROP CONSTRAINT "sso_domains_pkey";--> statement-breakpoint
ALTER TABLE "sso_domains" ADD CONSTRAINT "sso_domains_domain_organization_id_pk" PRIMARY KEY("domain","organization_id");--> statement-breakpoint
ALTER TABLE "sso_domains" ADD COLUMN "verification_token" text;--> statement-breakpoint
UPDATE "sso_domains" SET "verification_token" = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');--> statement-breakpoint
ALTER TABLE "sso_domains" ALTER COLUMN "verification_token" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "sso_domains" ADD COLUMN "verified_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "sso_domains_verified" ON "sso_domains" USING btree ("domain") WHERE verified_at is not null;
