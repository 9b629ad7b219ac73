-- Who may touch Better Auth's tables (see auth/README.md for the reasoning).
-- kommit_identity is the NOLOGIN group of the auth role (kommit_auth), created
-- by db:bootstrap. Identity tables (users, sessions, accounts, verifications)
-- belong to no tenant: only the auth role has grants on them, so a request
-- handler running as kommit_app cannot read a session or a password hash at all.
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, accounts, verifications TO kommit_identity;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, members, invitations TO kommit_identity;
--> statement-breakpoint
-- Memberships and invitations are tenant rows: same template as every tenant table.
SELECT kommit_enforce_tenant_rls('members');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('invitations');
--> statement-breakpoint
-- Better Auth works across organizations by nature (a user's list of
-- organizations, accepting an invitation before membership exists), before any
-- tenant context is known. These permissive policies apply to the auth role
-- only; kommit_app is never a member of it (the boot check refuses that).
CREATE POLICY identity_service ON organizations FOR ALL TO kommit_identity USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY identity_service ON members FOR ALL TO kommit_identity USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY identity_service ON invitations FOR ALL TO kommit_identity USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT ON members TO kommit_rw;
--> statement-breakpoint
-- The live membership check of every session request, run inside the tenant
-- transaction: it returns the caller's role in the current tenant and holds a
-- share lock on the membership row until that transaction ends, so a removal
-- either waits for the request to finish or has committed before the request
-- looked, and then the request finds no membership.
CREATE FUNCTION kommit_lock_membership(member_user_id uuid)
RETURNS text
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT m.role
  FROM public.members AS m
  WHERE m.org_id = nullif(current_setting('app.current_org_id', true), '')::uuid
    AND m.user_id = kommit_lock_membership.member_user_id
  FOR SHARE
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_lock_membership(uuid) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
-- FOR SHARE needs UPDATE on some column; role is the one the lock protects.
GRANT SELECT (org_id, user_id, role), UPDATE (role) ON members TO kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_lock_membership(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_lock_membership(uuid) TO kommit_rw;
--> statement-breakpoint
-- Key resolution also records use (at most once a minute per key), so listing
-- keys can show when each was last used without a write on every request.
CREATE OR REPLACE FUNCTION kommit_resolve_api_key(key_hash bytea)
RETURNS TABLE (org_id uuid, key_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    UPDATE public.api_keys AS k SET last_used_at = now()
    WHERE k.key_hash = kommit_resolve_api_key.key_hash AND k.revoked_at IS NULL
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
    RETURNING k.org_id, k.id;
  IF NOT FOUND THEN
    RETURN QUERY
      SELECT k.org_id, k.id FROM public.api_keys AS k
      WHERE k.key_hash = kommit_resolve_api_key.key_hash AND k.revoked_at IS NULL
      LIMIT 1;
  END IF;
END
$$;
--> statement-breakpoint
GRANT UPDATE (last_used_at) ON api_keys TO kommit_resolver;
--> statement-breakpoint
GRANT SELECT (last_used_at) ON api_keys TO kommit_resolver;
