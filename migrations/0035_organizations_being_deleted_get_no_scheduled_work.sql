-- The worker's relays ask which organizations have work waiting (controls due
-- for collection, webhook deliveries to process). An organization whose
-- deletion was requested has none: its rows are being removed, and its audit
-- chain head may already be gone, so collecting or processing for it could
-- only fail, pass after pass, while the other organizations wait behind it.
CREATE OR REPLACE FUNCTION kommit_orgs_with_due_controls()
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT DISTINCT c.org_id FROM public.controls c
  WHERE c.next_collection_at <= now()
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = c.org_id AND o.deletion_requested_at IS NOT NULL)
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION kommit_orgs_with_waiting_deliveries()
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
  SELECT DISTINCT d.org_id FROM public.webhook_deliveries d
  WHERE d.status = 'received'
    AND NOT EXISTS (SELECT 1 FROM public.organizations o WHERE o.id = d.org_id AND o.deletion_requested_at IS NOT NULL)
$$;
