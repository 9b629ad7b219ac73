-- Tenancy, by hand: drizzle-kit cannot emit FORCE ROW LEVEL SECURITY, grants or
-- SECURITY DEFINER functions. Roles are created by `npm run db:bootstrap`
-- (db/bootstrap.ts): kommit_rw is the NOLOGIN group whose grants the request role
-- kommit_app inherits; kommit_resolver is the BYPASSRLS owner of the few
-- functions that may look across tenants.

-- The one template every tenant table's policies come from, so none can drift.
-- The setting is read with missing_ok and nullif: on a pooled backend that once
-- ran withTenant it reads '' afterwards, and ''::uuid would raise instead of
-- failing closed to "no rows".
CREATE FUNCTION kommit_enforce_tenant_rls(tbl regclass, tenant_column name DEFAULT 'org_id')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
  tenant_match text := format(
    '%I = (select nullif(current_setting(''app.current_org_id'', true), '''')::uuid)',
    tenant_column
  );
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_select ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_insert ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_update ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_delete ON %s', tbl);
  EXECUTE format('CREATE POLICY tenant_select ON %s FOR SELECT USING (%s)', tbl, tenant_match);
  EXECUTE format('CREATE POLICY tenant_insert ON %s FOR INSERT WITH CHECK (%s)', tbl, tenant_match);
  EXECUTE format('CREATE POLICY tenant_update ON %s FOR UPDATE USING (%s) WITH CHECK (%s)', tbl, tenant_match, tenant_match);
  EXECUTE format('CREATE POLICY tenant_delete ON %s FOR DELETE USING (%s)', tbl, tenant_match);
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enforce_tenant_rls(regclass, name) FROM PUBLIC;
--> statement-breakpoint
-- The organization row is visible only inside its own tenant context.
SELECT kommit_enforce_tenant_rls('organizations', 'id');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('projects');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('api_keys');
--> statement-breakpoint
-- DML only, and only what each table needs. No TRUNCATE, no DDL, no ownership.
GRANT SELECT, UPDATE ON organizations TO kommit_rw;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON projects TO kommit_rw;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO kommit_rw;
--> statement-breakpoint
-- API-key authentication happens before any tenant context exists. This is the
-- only way the request role reads across tenants: it takes a key hash and
-- returns just the key's id and organization, for keys not revoked.
CREATE FUNCTION kommit_resolve_api_key(key_hash bytea)
RETURNS TABLE (org_id uuid, key_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT k.org_id, k.id
  FROM public.api_keys AS k
  WHERE k.key_hash = kommit_resolve_api_key.key_hash AND k.revoked_at IS NULL
  LIMIT 1
$$;
--> statement-breakpoint
-- A new owner needs CREATE on the schema; it holds it only for this statement.
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_resolve_api_key(bytea) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
GRANT SELECT (org_id, id, key_hash, revoked_at) ON api_keys TO kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_resolve_api_key(bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_resolve_api_key(bytea) TO kommit_rw;
