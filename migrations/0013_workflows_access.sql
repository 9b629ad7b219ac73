SELECT kommit_enforce_tenant_rls('workflows');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('workflow_versions');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('workflow_runs');
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON workflows, workflow_runs TO kommit_rw;
--> statement-breakpoint
-- Versions are written once; a draft's first version is replaced in place.
GRANT SELECT, INSERT ON workflow_versions TO kommit_rw;
--> statement-breakpoint
GRANT UPDATE (steps) ON workflow_versions TO kommit_rw;
