SELECT kommit_enforce_tenant_rls('support_transcripts');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('support_messages');
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON support_transcripts, support_messages TO kommit_rw;
