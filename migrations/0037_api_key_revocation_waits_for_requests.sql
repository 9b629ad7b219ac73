-- A revoked API key loses access at once, as a removed member does: once the
-- revocation has committed, no request made with the key can still commit.
--
-- Every request with a key holds a shared, transaction-scoped advisory lock
-- named after the key's hash, taken before the key is looked up. Revoking or
-- deleting the key (the route, the operator CLI, an organization's deletion,
-- any other path) takes the same lock exclusively in a trigger, so it waits
-- for the requests in flight and holds off new ones until it commits; those
-- then look the key up afresh and find it revoked or gone.
--
-- An advisory lock rather than FOR SHARE on the key's row: a row lock writes
-- the row (and, with many requests on one key, a multixact) on every request;
-- an advisory lock lives in shared memory only. Its name is only ever derived
-- from a key hash, so neither side can be made to wait on an unrelated lock
-- except through a 64-bit hash collision, which costs a wait and nothing else.
CREATE FUNCTION kommit_api_key_lock(key_hash bytea)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
STRICT
SET search_path = pg_catalog
RETURN hashtextextended('kommit-api-key:' || encode(key_hash, 'hex'), 0);
--> statement-breakpoint
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
  -- Before the lookup, which (a new statement in a volatile function) then
  -- sees any revocation that committed while this waited.
  PERFORM pg_advisory_xact_lock_shared(public.kommit_api_key_lock(kommit_resolve_api_key.key_hash));
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
--> statement-breakpoint
-- Runs as whoever revokes or deletes (no privilege is needed for an advisory
-- lock). A request revoking its own key already holds the shared lock, and a
-- transaction never waits on its own locks.
CREATE FUNCTION kommit_api_key_revoking() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(public.kommit_api_key_lock(OLD.key_hash));
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
--> statement-breakpoint
CREATE TRIGGER api_keys_revocation_waits_for_requests
BEFORE UPDATE OF revoked_at OR DELETE ON api_keys
FOR EACH ROW EXECUTE FUNCTION kommit_api_key_revoking();
