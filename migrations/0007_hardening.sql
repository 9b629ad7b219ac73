-- Set the tenant context only for a member: a caller that forgets to check the
-- returned role then still works in no tenant at all.
CREATE OR REPLACE FUNCTION kommit_enter_tenant(tenant_org_id uuid, member_user_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  member_role text;
BEGIN
  SELECT m.role INTO member_role
  FROM public.members AS m
  WHERE m.org_id = tenant_org_id AND m.user_id = member_user_id
  FOR SHARE;
  IF member_role IS NOT NULL THEN
    PERFORM set_config('app.current_org_id', tenant_org_id::text, true);
  END IF;
  RETURN member_role;
END
$$;
--> statement-breakpoint
-- Grants down to what the request role uses: organizations are read, never
-- written; memberships are reached only through kommit_enter_tenant; of an API
-- key only the revocation is ever changed.
REVOKE UPDATE ON organizations FROM kommit_rw;
--> statement-breakpoint
REVOKE SELECT ON members FROM kommit_rw;
--> statement-breakpoint
REVOKE UPDATE ON api_keys FROM kommit_rw;
--> statement-breakpoint
GRANT UPDATE (revoked_at) ON api_keys TO kommit_rw;
