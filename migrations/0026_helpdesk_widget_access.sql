SELECT kommit_enforce_tenant_rls('helpdesk_articles');
--> statement-breakpoint
SELECT kommit_enforce_tenant_rls('widget_configs');
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON helpdesk_articles TO kommit_rw;
--> statement-breakpoint
-- A widget is created and changed, never deleted by a request (it goes with its organization).
GRANT SELECT, INSERT, UPDATE ON widget_configs TO kommit_rw;
--> statement-breakpoint
-- A visitor's request names only a public widget key: this enters that
-- widget's organization (in the caller's transaction) when exactly one enabled
-- widget has the key, and tells nothing otherwise. Everything after, including
-- reading the widget's allowed origins, happens under row-level security.
CREATE FUNCTION kommit_enter_widget(key text)
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
  FROM public.widget_configs w WHERE w.public_key = key AND w.enabled;
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
ALTER FUNCTION kommit_enter_widget(text) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
GRANT SELECT (org_id, public_key, enabled) ON widget_configs TO kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_enter_widget(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_enter_widget(text) TO kommit_rw;
