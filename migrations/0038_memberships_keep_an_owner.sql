-- Memberships as the database holds them, whoever writes them (Better Auth on
-- its own connection, the organization's deletion, an operator):
--
-- 1. An organization keeps at least one owner. Better Auth counts owners
--    before it demotes or removes one, but two owners acting at once each
--    counted the other: both demoted themselves, or removed each other, and
--    the organization was left with nobody able to manage or delete it. The
--    check below runs after the change, serialized per organization by an
--    advisory lock, so the second of two such changes sees the first and is
--    refused (23514, answered 409). An organization being deleted, or deleted
--    (the cascade of its hard delete), has nothing to keep.
-- 2. An organization being deleted takes no new members or invitations, and
--    no session request enters it, even one whose membership slipped in while
--    the deletion was being requested (an invitation accepted at that moment).
-- 3. One pending invitation per address and organization: two sent at once
--    made two, and accepting the second failed on the membership's unique
--    constraint.

-- Reads a stored role the way db/member-roles.ts does: Better Auth may store a comma list.
CREATE FUNCTION kommit_role_is_owner(role text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog
RETURN 'owner' = ANY (SELECT btrim(name) FROM unnest(string_to_array(role, ',')) AS name);
--> statement-breakpoint
CREATE FUNCTION kommit_members_keep_an_owner() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
  -- Only a change that takes an owner away matters.
  IF NOT public.kommit_role_is_owner(OLD.role) OR (TG_OP = 'UPDATE' AND public.kommit_role_is_owner(NEW.role)) THEN
    RETURN NULL;
  END IF;
  -- Held to commit: the next such change in this organization waits, then (a
  -- new statement, a new snapshot) counts with this one committed.
  PERFORM pg_advisory_xact_lock(hashtextextended('kommit-owners:' || OLD.org_id::text, 0));
  IF NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = OLD.org_id AND o.deletion_requested_at IS NULL) THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM public.members m WHERE m.org_id = OLD.org_id AND public.kommit_role_is_owner(m.role)) THEN
    RAISE EXCEPTION 'an organization keeps at least one owner'
      USING ERRCODE = '23514', CONSTRAINT = 'members_keep_an_owner';
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION kommit_refuse_organization_being_deleted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = NEW.org_id AND o.deletion_requested_at IS NOT NULL) THEN
    RAISE EXCEPTION 'the organization is being deleted' USING ERRCODE = '55000', CONSTRAINT = 'organization_being_deleted';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- As in 0007, and only for an organization whose deletion was not requested.
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
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = tenant_org_id AND o.deletion_requested_at IS NOT NULL)
  FOR SHARE OF m;
  IF member_role IS NOT NULL THEN
    PERFORM set_config('app.current_org_id', tenant_org_id::text, true);
  END IF;
  RETURN member_role;
END
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_members_keep_an_owner() OWNER TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_refuse_organization_being_deleted() OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
CREATE TRIGGER members_keep_an_owner
AFTER UPDATE OF role OR DELETE ON members
FOR EACH ROW EXECUTE FUNCTION kommit_members_keep_an_owner();
--> statement-breakpoint
CREATE TRIGGER members_not_into_organizations_being_deleted
BEFORE INSERT ON members
FOR EACH ROW EXECUTE FUNCTION kommit_refuse_organization_being_deleted();
--> statement-breakpoint
CREATE TRIGGER invitations_not_into_organizations_being_deleted
BEFORE INSERT ON invitations
FOR EACH ROW EXECUTE FUNCTION kommit_refuse_organization_being_deleted();
--> statement-breakpoint
-- Duplicates from before this migration: the newest pending one stays. Row-level
-- security is forced on the owner too, so it is lifted for this statement only.
ALTER TABLE invitations NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
UPDATE invitations AS i SET status = 'canceled'
WHERE i.status = 'pending' AND EXISTS (
  SELECT 1 FROM invitations AS j
  WHERE j.org_id = i.org_id AND lower(j.email) = lower(i.email) AND j.status = 'pending'
    AND (j.created_at, j.id) > (i.created_at, i.id));
--> statement-breakpoint
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE UNIQUE INDEX invitations_one_pending_per_address ON invitations (org_id, lower(email)) WHERE status = 'pending';
