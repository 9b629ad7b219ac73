CREATE TABLE "support_messages" (
	"org_id" uuid NOT NULL,
	"transcript_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"citations" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"sent_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "support_messages_org_id_transcript_id_position_pk" PRIMARY KEY("org_id","transcript_id","position")
);
--> statement-breakpoint
CREATE TABLE "support_transcripts" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"channel" text NOT NULL,
	"visitor_ref" text,
	"rating" integer,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "support_transcripts_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "support_transcripts_rating_check" CHECK ("support_transcripts"."rating" is null or "support_transcripts"."rating" between 1 and 5)
);
--> statement-breakpoint
ALTER TABLE "support_messages" ADD CONSTRAINT "support_messages_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "support_messages" ADD CONSTRAINT "support_messages_transcript_fk" FOREIGN KEY ("org_id","transcript_id") REFERENCES "public"."support_transcripts"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "support_transcripts" ADD CONSTRAINT "support_transcripts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "support_transcripts_org_created_idx" ON "support_transcripts" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);