-- The audit log is tenant data like any other, and append-only.
SELECT kommit_enforce_tenant_rls('audit_log');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('audit_chain_heads');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('audit_checkpoints');
--> statement-breakpoint
-- The request role appends and reads; it can never change or remove a row.
GRANT SELECT, INSERT ON audit_log, audit_checkpoints TO kommit_rw;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO kommit_rw;
--> statement-breakpoint
-- Who may remove audit rows: nobody, except the cascade of a hard organization
-- delete, recognised by the organization row being gone already. Applies to
-- the owner role too (it would have to disable the trigger first, which is
-- itself visible in the catalog and caught by verification).
CREATE FUNCTION kommit_audit_append_only()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM public.organizations AS o WHERE o.id = OLD.org_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_audit_append_only() OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
GRANT SELECT (id) ON organizations TO kommit_resolver;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION kommit_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION kommit_audit_append_only();
