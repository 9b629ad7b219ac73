CREATE TABLE "helpdesk_articles" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"published_at" timestamp(6) with time zone,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "helpdesk_articles_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "helpdesk_articles_slug_unique" UNIQUE("org_id","slug"),
	CONSTRAINT "helpdesk_articles_slug_check" CHECK ("helpdesk_articles"."slug" ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);
--> statement-breakpoint
CREATE TABLE "widget_configs" (
	"org_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"public_key" text NOT NULL,
	"allowed_origins" text[] DEFAULT '{}'::text[] NOT NULL,
	"greeting" text DEFAULT 'Hi! Ask me anything about our product.' NOT NULL,
	"accent_color" text DEFAULT '#2f6feb' NOT NULL,
	"text_color" text DEFAULT '#ffffff' NOT NULL,
	"contact" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"sealed_identity_secret" text,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "widget_configs_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "widget_configs_org_unique" UNIQUE("org_id")
);
--> statement-breakpoint
ALTER TABLE "search_chunks" DROP CONSTRAINT "search_chunks_one_source";--> statement-breakpoint
ALTER TABLE "support_transcripts" ADD COLUMN "visitor_verified" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "search_chunks" ADD COLUMN "article_id" uuid;--> statement-breakpoint
ALTER TABLE "helpdesk_articles" ADD CONSTRAINT "helpdesk_articles_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "widget_configs" ADD CONSTRAINT "widget_configs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "helpdesk_articles_org_created_idx" ON "helpdesk_articles" USING btree ("org_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "widget_configs_public_key_idx" ON "widget_configs" USING btree ("public_key");--> statement-breakpoint
ALTER TABLE "search_chunks" ADD CONSTRAINT "search_chunks_article_fk" FOREIGN KEY ("org_id","article_id") REFERENCES "public"."helpdesk_articles"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "search_chunks_article_idx" ON "search_chunks" USING btree ("org_id","article_id") WHERE "search_chunks"."article_id" is not null;--> statement-breakpoint
ALTER TABLE "search_chunks" ADD CONSTRAINT "search_chunks_one_source" CHECK (("search_chunks"."source_type" = 'decision_event' and "search_chunks"."decision_event_id" is not null and "search_chunks"."transcript_id" is null and "search_chunks"."article_id" is null)
       or ("search_chunks"."source_type" = 'support_transcript' and "search_chunks"."transcript_id" is not null and "search_chunks"."decision_event_id" is null and "search_chunks"."article_id" is null)
       or ("search_chunks"."source_type" = 'helpdesk_article' and "search_chunks"."article_id" is not null and "search_chunks"."decision_event_id" is null and "search_chunks"."transcript_id" is null));