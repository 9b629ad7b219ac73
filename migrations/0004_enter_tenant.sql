-- One round trip instead of two for every session request: set the tenant
-- context and find (and share-lock) the caller's membership in it, in that
-- order, in one call. set_config(..., true) inside the function lasts for the
-- caller's transaction (only variables named in a SET clause are restored on
-- exit). It replaces kommit_lock_membership.
CREATE FUNCTION kommit_enter_tenant(tenant_org_id uuid, member_user_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  member_role text;
BEGIN
  PERFORM set_config('app.current_org_id', tenant_org_id::text, true);
  SELECT m.role INTO member_role
  FROM public.members AS m
  WHERE m.org_id = tenant_org_id AND m.user_id = member_user_id
  FOR SHARE;
  RETURN member_role;
END
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_enter_tenant(uuid, uuid) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enter_tenant(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_enter_tenant(uuid, uuid) TO kommit_rw;
--> statement-breakpoint
DROP FUNCTION kommit_lock_membership(uuid);
