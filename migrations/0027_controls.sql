CREATE TABLE "control_frameworks" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"framework" text NOT NULL,
	"version" text NOT NULL,
	"title" text NOT NULL,
	"adopted_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "control_frameworks_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "control_frameworks_framework_unique" UNIQUE("org_id","framework")
);
--> statement-breakpoint
CREATE TABLE "controls" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"framework_id" uuid,
	"ref" text NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"owner" text,
	"status" text DEFAULT 'not_started' NOT NULL,
	"applicable" boolean DEFAULT true NOT NULL,
	"notes" text DEFAULT '' NOT NULL,
	"evidence" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"schedule_minutes" integer,
	"next_collection_at" timestamp(6) with time zone,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "controls_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "controls_framework_ref_unique" UNIQUE("org_id","framework_id","ref"),
	CONSTRAINT "controls_status_check" CHECK ("controls"."status" in ('not_started', 'in_progress', 'implemented', 'not_applicable')),
	CONSTRAINT "controls_schedule_check" CHECK ("controls"."schedule_minutes" is null or "controls"."schedule_minutes" between 5 and 525600)
);
--> statement-breakpoint
CREATE TABLE "evidence_snapshots" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"control_id" uuid NOT NULL,
	"source" text NOT NULL,
	"parameters" jsonb NOT NULL,
	"passed" boolean NOT NULL,
	"trigger" text NOT NULL,
	"collected_at" timestamp(6) with time zone NOT NULL,
	"content" text NOT NULL,
	"content_hash" text NOT NULL,
	CONSTRAINT "evidence_snapshots_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "evidence_snapshots_trigger_check" CHECK ("evidence_snapshots"."trigger" in ('on_demand', 'schedule'))
);
--> statement-breakpoint
ALTER TABLE "control_frameworks" ADD CONSTRAINT "control_frameworks_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "controls" ADD CONSTRAINT "controls_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "controls" ADD CONSTRAINT "controls_framework_fk" FOREIGN KEY ("org_id","framework_id") REFERENCES "public"."control_frameworks"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_snapshots" ADD CONSTRAINT "evidence_snapshots_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_snapshots" ADD CONSTRAINT "evidence_snapshots_control_fk" FOREIGN KEY ("org_id","control_id") REFERENCES "public"."controls"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "controls_framework_idx" ON "controls" USING btree ("org_id","framework_id");--> statement-breakpoint
CREATE INDEX "controls_org_created_idx" ON "controls" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "controls_due_idx" ON "controls" USING btree ("org_id","next_collection_at") WHERE "controls"."next_collection_at" is not null;--> statement-breakpoint
CREATE INDEX "evidence_snapshots_control_idx" ON "evidence_snapshots" USING btree ("org_id","control_id","collected_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "evidence_snapshots_org_collected_idx" ON "evidence_snapshots" USING btree ("org_id","collected_at");