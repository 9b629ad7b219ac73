-- An organization whose deletion was requested takes no more visitors: the
-- request removes its members, invitations and API keys at once, but its chat
-- widgets and webhook endpoints were still found by their public key or id
-- until the worker reached those tables, so visitors could still start
-- conversations and customer systems could still post deliveries (new rows in
-- an organization the API already called gone). The three resolvers now
-- answer for such an organization as for an unknown key or endpoint.
CREATE OR REPLACE FUNCTION kommit_enter_widget(key text)
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
  SELECT min(w.org_id::text)::uuid, count(*) INTO found_org, matches
  FROM public.widget_configs w
  WHERE w.public_key = key AND w.enabled
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = w.org_id AND o.deletion_requested_at IS NOT NULL);
  IF matches <> 1 THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('app.current_org_id', found_org::text, true);
  RETURN found_org;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION kommit_enter_webhook_endpoint(endpoint uuid)
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
  FROM public.webhook_endpoints e
  WHERE e.id = endpoint AND e.enabled
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = e.org_id AND o.deletion_requested_at IS NOT NULL);
  IF matches <> 1 THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('app.current_org_id', found_org::text, true);
  RETURN found_org;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION kommit_webhook_endpoint_secrets(endpoint uuid)
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
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = e.org_id AND o.deletion_requested_at IS NOT NULL)
$$;
