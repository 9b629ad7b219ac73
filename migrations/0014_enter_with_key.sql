-- API-key requests in one round trip less: resolve the key and enter its
-- organization's tenant context in the same call, inside the request's
-- transaction. Returns nothing (and sets nothing) for an unknown or revoked key.
CREATE FUNCTION kommit_enter_tenant_with_key(key_hash bytea)
RETURNS TABLE (org_id uuid, key_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  found_org uuid;
  found_key uuid;
BEGIN
  SELECT r.org_id, r.key_id INTO found_org, found_key FROM public.kommit_resolve_api_key(key_hash) AS r;
  IF found_org IS NOT NULL THEN
    PERFORM set_config('app.current_org_id', found_org::text, true);
    org_id := found_org;
    key_id := found_key;
    RETURN NEXT;
  END IF;
END
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_enter_tenant_with_key(bytea) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enter_tenant_with_key(bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_enter_tenant_with_key(bytea) TO kommit_rw;
