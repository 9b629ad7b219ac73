CREATE INDEX "invitations_inviter_idx" ON "invitations" USING btree ("inviter_id");--> statement-breakpoint
CREATE INDEX "decision_events_supersedes_idx" ON "decision_events" USING btree ("org_id","supersedes") WHERE "decision_events"."supersedes" is not null;--> statement-breakpoint
CREATE INDEX "decision_events_run_idx" ON "decision_events" USING btree ("org_id","workflow_run_id") WHERE "decision_events"."workflow_run_id" is not null;--> statement-breakpoint
CREATE INDEX "workflow_runs_version_idx" ON "workflow_runs" USING btree ("org_id","workflow_id","version");--> statement-breakpoint
CREATE INDEX "search_chunks_decision_idx" ON "search_chunks" USING btree ("org_id","decision_event_id") WHERE "search_chunks"."decision_event_id" is not null;--> statement-breakpoint
CREATE INDEX "search_chunks_transcript_idx" ON "search_chunks" USING btree ("org_id","transcript_id") WHERE "search_chunks"."transcript_id" is not null;