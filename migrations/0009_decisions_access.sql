SELECT kommit_enforce_tenant_rls('decision_events');
--> statement-breakpoint
-- Append-only for the request role: insert and read; of an existing event only
-- its status changes (superseded, archived). No DELETE: events go only with
-- their project or organization (the cascades).
GRANT SELECT, INSERT ON decision_events TO kommit_rw;
--> statement-breakpoint
GRANT UPDATE (status) ON decision_events TO kommit_rw;
