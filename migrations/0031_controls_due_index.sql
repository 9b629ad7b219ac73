DROP INDEX "controls_due_idx";--> statement-breakpoint
CREATE INDEX "controls_due_idx" ON "controls" USING btree ("next_collection_at") WHERE "controls"."next_collection_at" is not null;