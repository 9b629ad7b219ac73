CREATE TABLE "organization_deletions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"deleted_organization_id" uuid NOT NULL,
	"requested_by" uuid NOT NULL,
	"requested_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (6) with time zone,
	"rows_deleted" bigint,
	CONSTRAINT "organization_deletions_deleted_organization_id_unique" UNIQUE("deleted_organization_id")
);
--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "deletion_requested_at" timestamp (6) with time zone;