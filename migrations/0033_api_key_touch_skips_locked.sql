-- Key resolution looks the key up first and records its use (at most once a
-- minute) only when that is due, skipping the row if another transaction holds
-- it. Before, every resolution ran an UPDATE, and a request whose touch was
-- due kept the key's row locked until its transaction ended: every other
-- request with the same key then queued behind it (for a long export, as long
-- as the export). A skipped touch is made by the next request.
CREATE OR REPLACE FUNCTION kommit_resolve_api_key(key_hash bytea)
RETURNS TABLE (org_id uuid, key_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  hit record;
BEGIN
  SELECT k.org_id, k.id, k.last_used_at INTO hit
  FROM public.api_keys AS k
  WHERE k.key_hash = kommit_resolve_api_key.key_hash AND k.revoked_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute' THEN
    -- By the primary key (org_id, id), so the row is found by one index probe.
    UPDATE public.api_keys AS k SET last_used_at = now()
    WHERE k.org_id = hit.org_id AND k.id = (
      SELECT l.id FROM public.api_keys AS l
      WHERE l.org_id = hit.org_id AND l.id = hit.id
        AND (l.last_used_at IS NULL OR l.last_used_at < now() - interval '1 minute')
      FOR UPDATE SKIP LOCKED
    );
  END IF;
  org_id := hit.org_id;
  key_id := hit.id;
  RETURN NEXT;
END
$$;
