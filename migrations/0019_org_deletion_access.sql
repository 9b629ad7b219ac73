-- Hard organization deletion, first step (DESIGN.md section 5). Called by the
-- request role inside the owner's tenant transaction; runs as beheerder. In one
-- transaction it makes the organization unreachable (its members, invitations
-- and API keys are removed, sessions pointing at it are cleared), marks it,
-- records the request at platform level and queues the worker job that
-- removes every remaining row in batches.
CREATE FUNCTION kommit_begin_org_deletion(actor uuid)
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
  IF NOT EXISTS (SELECT 1 FROM public.members m WHERE m.org_id = org AND m.user_id = actor AND m.role = 'owner') THEN
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
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_begin_org_deletion(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_begin_org_deletion(uuid) TO kommit_rw;
--> statement-breakpoint
REVOKE ALL ON organization_deletions FROM PUBLIC;
--> statement-breakpoint
-- Audit rows of an organization under deletion may go too (batch by batch, in
-- the worker), as may those whose organization row is already gone (the cascade).
CREATE OR REPLACE FUNCTION kommit_audit_append_only()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (
    SELECT 1 FROM public.organizations AS o WHERE o.id = OLD.org_id AND o.deletion_requested_at IS NULL
  ) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
GRANT SELECT (deletion_requested_at) ON organizations TO kommit_resolver;
