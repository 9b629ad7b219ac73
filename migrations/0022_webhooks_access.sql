SELECT kommit_enforce_tenant_rls('webhook_endpoints');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('webhook_deliveries');
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO kommit_rw;
--> statement-breakpoint
-- Deliveries are written once by the receiving route; their processing state
-- is the worker's (beheerder) to change.
GRANT SELECT, INSERT ON webhook_deliveries TO kommit_rw;
--> statement-breakpoint
-- An incoming delivery names only its endpoint: this enters that endpoint's
-- organization (in the caller's transaction) when the endpoint exists and is
-- enabled, and tells nothing otherwise. Everything after, including reading
-- the sealed secret, happens under row-level security.
CREATE FUNCTION kommit_enter_webhook_endpoint(endpoint uuid)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  found_org uuid;
  matches int;
BEGIN
  SELECT min(e.org_id::text)::uuid, count(*) INTO found_org, matches
  FROM public.webhook_endpoints e WHERE e.id = endpoint AND e.enabled;
  IF matches <> 1 THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('app.current_org_id', found_org::text, true);
  RETURN found_org;
END
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_enter_webhook_endpoint(uuid) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
GRANT SELECT (org_id, id, enabled) ON webhook_endpoints TO kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enter_webhook_endpoint(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_enter_webhook_endpoint(uuid) TO kommit_rw;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION kommit_enqueue(task text, payload jsonb, job_key text DEFAULT NULL)
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
  IF task NOT IN ('search.index', 'webhook.process') THEN
    RAISE EXCEPTION 'task % cannot be queued from a tenant transaction', task USING ERRCODE = '42501';
  END IF;
  PERFORM graphile_worker.add_job(
    identifier => task,
    payload => (coalesce(payload, '{}'::jsonb) || jsonb_build_object('orgId', org))::json,
    max_attempts => CASE task WHEN 'webhook.process' THEN 8 ELSE 10 END,
    job_key => CASE WHEN job_key IS NULL THEN NULL ELSE org::text || '/' || job_key END
  );
END
$$;
