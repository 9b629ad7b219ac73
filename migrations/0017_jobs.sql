-- Background jobs run in a graphile-worker queue (schema graphile_worker,
-- installed by the worker library's own migrations as beheerder, before these).
-- The request role never touches that schema: it enqueues through this one
-- function, which stamps the job with the organization of the current tenant
-- context (so a request can only queue work for its own organization) and
-- accepts only the tasks listed here. Runs as its owner, beheerder.
CREATE FUNCTION kommit_enqueue(task text, payload jsonb, job_key text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  org uuid := nullif(current_setting('app.current_org_id', true), '')::uuid;
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'kommit_enqueue needs a tenant context' USING ERRCODE = '42501';
  END IF;
  IF task NOT IN ('search.index') THEN
    RAISE EXCEPTION 'task % cannot be queued from a tenant transaction', task USING ERRCODE = '42501';
  END IF;
  PERFORM graphile_worker.add_job(
    identifier => task,
    payload => (coalesce(payload, '{}'::jsonb) || jsonb_build_object('orgId', org))::json,
    max_attempts => 10,
    job_key => CASE WHEN job_key IS NULL THEN NULL ELSE org::text || '/' || job_key END
  );
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enqueue(text, jsonb, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_enqueue(text, jsonb, text) TO kommit_rw;
--> statement-breakpoint
-- The worker (beheerder, not BYPASSRLS) cannot list organizations itself; this
-- names the ones whose search chunks were embedded by another model, and
-- nothing else about them.
CREATE FUNCTION kommit_orgs_with_stale_embeddings(current_model text)
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT DISTINCT org_id FROM public.search_chunks WHERE model <> current_model
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_orgs_with_stale_embeddings(text) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_orgs_with_stale_embeddings(text) FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT (org_id, model) ON search_chunks TO kommit_resolver;
