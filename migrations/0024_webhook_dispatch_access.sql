-- Deliveries are an outbox: the receiving statement only stores the row (a
-- job insert there would cost a NOTIFY, and NOTIFY serialises commits). The
-- worker's relay, every second, asks which organizations have deliveries
-- still waiting, then queues one processing job per delivery in bulk, inside
-- each organization's tenant context. This names those organizations and
-- nothing else about them.
CREATE FUNCTION kommit_orgs_with_waiting_deliveries()
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT DISTINCT org_id FROM public.webhook_deliveries WHERE status = 'received'
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_orgs_with_waiting_deliveries() OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_orgs_with_waiting_deliveries() FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT (org_id, status) ON webhook_deliveries TO kommit_resolver;
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
-- The receiving route's first statement: for one enabled endpoint id, its
-- organization, what it turns deliveries into, and its sealed secrets (useless
-- without the key in the application's configuration). Nothing for unknown or
-- disabled ids. The delivery itself is then stored by kommit_app under
-- row-level security in the endpoint's organization.
CREATE FUNCTION kommit_webhook_endpoint_secrets(endpoint uuid)
RETURNS TABLE (org_id uuid, target text, sealed_secret text, sealed_previous_secret text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT e.org_id, e.target, e.sealed_secret,
         CASE WHEN e.previous_secret_expires_at > now() THEN e.sealed_previous_secret END
  FROM public.webhook_endpoints e
  WHERE e.id = endpoint AND e.enabled
    AND (SELECT count(*) FROM public.webhook_endpoints d WHERE d.id = endpoint) = 1
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_webhook_endpoint_secrets(uuid) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_webhook_endpoint_secrets(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_webhook_endpoint_secrets(uuid) TO kommit_rw;
--> statement-breakpoint
GRANT SELECT (target, sealed_secret, sealed_previous_secret, previous_secret_expires_at) ON webhook_endpoints TO kommit_resolver;
