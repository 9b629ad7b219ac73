SELECT kommit_enforce_tenant_rls('search_chunks');
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON search_chunks TO kommit_rw;
