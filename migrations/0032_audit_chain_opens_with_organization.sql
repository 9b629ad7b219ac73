-- Every organization's audit chain has its head from the moment the
-- organization exists, whoever inserts it (Better Auth's role, an operator
-- CLI). Appends sent ahead of COMMIT (db/audit/emit.ts emitAuditAhead) cannot
-- create a missing head, so this used to hold only by convention: the
-- creation's own audit row made the head, and Better Auth writes that row in a
-- transaction after the organization's.
CREATE FUNCTION kommit_open_audit_chain()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  -- The inserting transaction's own tenant context (if any) is put back after.
  previous text := current_setting('app.current_org_id', true);
BEGIN
  -- The heads table forces row-level security on its owner too: enter the new organization.
  PERFORM set_config('app.current_org_id', NEW.id::text, true);
  INSERT INTO public.audit_chain_heads (org_id, seq, head_hash)
  VALUES (NEW.id, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
  ON CONFLICT (org_id) DO NOTHING;
  PERFORM set_config('app.current_org_id', coalesce(previous, ''), true);
  RETURN NULL;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_open_audit_chain() FROM PUBLIC;
--> statement-breakpoint
CREATE TRIGGER organizations_open_audit_chain
AFTER INSERT ON organizations
FOR EACH ROW EXECUTE FUNCTION kommit_open_audit_chain();
--> statement-breakpoint
-- Organizations made before this migration whose head is missing (their
-- creation's audit row was never written, so their chain is empty) get theirs
-- now. Only the resolver's definer function sees every organization.
DO $$
DECLARE
  org record;
BEGIN
  FOR org IN SELECT id FROM kommit_admin_organizations() LOOP
    PERFORM set_config('app.current_org_id', org.id::text, true);
    IF NOT EXISTS (SELECT 1 FROM audit_log WHERE org_id = org.id) THEN
      INSERT INTO audit_chain_heads (org_id, seq, head_hash)
      VALUES (org.id, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
      ON CONFLICT (org_id) DO NOTHING;
    END IF;
  END LOOP;
  PERFORM set_config('app.current_org_id', '', true);
END
$$;
