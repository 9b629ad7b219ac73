CREATE TABLE "decision_events" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"title" text NOT NULL,
	"rationale" text,
	"outcome" text,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"supersedes" uuid,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "decision_events_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "decision_events_kind_check" CHECK ("decision_events"."kind" in ('decision', 'learning', 'progress', 'preference')),
	CONSTRAINT "decision_events_status_check" CHECK ("decision_events"."status" in ('active', 'superseded', 'conflicting', 'archived'))
);
--> statement-breakpoint
ALTER TABLE "decision_events" ADD CONSTRAINT "decision_events_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "decision_events" ADD CONSTRAINT "decision_events_project_fk" FOREIGN KEY ("org_id","project_id") REFERENCES "public"."projects"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "decision_events" ADD CONSTRAINT "decision_events_supersedes_fk" FOREIGN KEY ("org_id","supersedes") REFERENCES "public"."decision_events"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "decision_events_org_project_created_idx" ON "decision_events" USING btree ("org_id","project_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "decision_events_org_created_idx" ON "decision_events" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);