CREATE TABLE "search_chunks" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"source_type" text NOT NULL,
	"decision_event_id" uuid,
	"transcript_id" uuid,
	"chunk_no" integer NOT NULL,
	"content" text NOT NULL,
	"tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
	"embedding" real[] NOT NULL,
	"model" text NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_chunks_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "search_chunks_one_source" CHECK (("search_chunks"."source_type" = 'decision_event' and "search_chunks"."decision_event_id" is not null and "search_chunks"."transcript_id" is null)
       or ("search_chunks"."source_type" = 'support_transcript' and "search_chunks"."transcript_id" is not null and "search_chunks"."decision_event_id" is null))
);
--> statement-breakpoint
ALTER TABLE "search_chunks" ADD CONSTRAINT "search_chunks_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_chunks" ADD CONSTRAINT "search_chunks_decision_fk" FOREIGN KEY ("org_id","decision_event_id") REFERENCES "public"."decision_events"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_chunks" ADD CONSTRAINT "search_chunks_transcript_fk" FOREIGN KEY ("org_id","transcript_id") REFERENCES "public"."support_transcripts"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "search_chunks_org_source_idx" ON "search_chunks" USING btree ("org_id","source_type");--> statement-breakpoint
CREATE INDEX "search_chunks_tsv_idx" ON "search_chunks" USING gin ("tsv");