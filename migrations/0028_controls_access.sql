SELECT kommit_enforce_tenant_rls('control_frameworks');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('controls');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('evidence_snapshots');
--> statement-breakpoint
-- Adopted frameworks and controls are edited, never deleted by a request
-- (they go with their organization); snapshots are evidence: written once.
GRANT SELECT, INSERT, UPDATE ON control_frameworks, controls TO kommit_rw;
--> statement-breakpoint
GRANT SELECT, INSERT ON evidence_snapshots TO kommit_rw;
--> statement-breakpoint
-- The same rule as audit rows, for every role including the owner: no UPDATE,
-- and DELETE only while the organization is being hard-deleted.
CREATE TRIGGER evidence_snapshots_append_only BEFORE UPDATE OR DELETE ON evidence_snapshots
  FOR EACH ROW EXECUTE FUNCTION kommit_audit_append_only();
--> statement-breakpoint
-- The scheduled collection relay (worker, beheerder) finds organizations with
-- controls due without reading any tenant's rows itself; each is then handled
-- inside withTenant.
CREATE FUNCTION kommit_orgs_with_due_controls()
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT DISTINCT org_id FROM public.controls WHERE next_collection_at <= now()
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_orgs_with_due_controls() OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_orgs_with_due_controls() FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT (org_id, next_collection_at) ON controls TO kommit_resolver;
