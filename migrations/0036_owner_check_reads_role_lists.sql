-- The owner check of kommit_begin_org_deletion reads a stored role the way
-- the application does (db/member-roles.ts): Better Auth may store a comma
-- list such as "owner,member", and an owner holding one was let through by
-- the route and then refused here. Everything else is as in 0019.
CREATE OR REPLACE FUNCTION kommit_begin_org_deletion(actor uuid)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  org uuid := nullif(current_setting('app.current_org_id', true), '')::uuid;
  record_id uuid;
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'kommit_begin_org_deletion needs a tenant context' USING ERRCODE = '42501';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM public.members m WHERE m.org_id = org AND m.user_id = actor
      AND 'owner' = ANY (SELECT btrim(name) FROM unnest(string_to_array(m.role, ',')) AS name)) THEN
    RAISE EXCEPTION 'only an owner can delete the organization' USING ERRCODE = '42501';
  END IF;
  UPDATE public.organizations SET deletion_requested_at = now() WHERE id = org AND deletion_requested_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the organization is already being deleted' USING ERRCODE = '55000';
  END IF;
  DELETE FROM public.invitations WHERE org_id = org;
  DELETE FROM public.members WHERE org_id = org;
  DELETE FROM public.api_keys WHERE org_id = org;
  UPDATE public.sessions SET active_organization_id = NULL WHERE active_organization_id = org;
  INSERT INTO public.organization_deletions (deleted_organization_id, requested_by) VALUES (org, actor) RETURNING id INTO record_id;
  PERFORM graphile_worker.add_job(
    identifier => 'org.delete',
    payload => json_build_object('orgId', org),
    job_key => 'org.delete:' || org::text,
    max_attempts => 25
  );
  RETURN record_id;
END
$$;
