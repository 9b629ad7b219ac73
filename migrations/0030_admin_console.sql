CREATE TABLE "operator_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"token" text NOT NULL,
	"user_id" uuid NOT NULL,
	"expires_at" timestamp (6) with time zone NOT NULL,
	"ip_address" text,
	"user_agent" text,
	"second_factor_at" timestamp (6) with time zone,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operator_sessions_token_unique" UNIQUE("token")
);
--> statement-breakpoint
CREATE TABLE "platform_audit_checkpoints" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"head_hash" "bytea" NOT NULL,
	"signed_at" timestamp (6) with time zone NOT NULL,
	"key_name" text NOT NULL,
	"note" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform_audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"occurred_at" timestamp (6) with time zone NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"organization_id" uuid,
	"target_type" text,
	"target_id" text,
	"reason" text,
	"request_id" text,
	"ip" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prev_hash" "bytea" NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "platform_audit_log_prev_hash_unique" UNIQUE("prev_hash")
);
--> statement-breakpoint
CREATE TABLE "platform_operators" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"role" text DEFAULT 'admin' NOT NULL,
	"granted_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"granted_by" text NOT NULL,
	"setup_token_hash" "bytea",
	"setup_token_expires_at" timestamp (6) with time zone,
	CONSTRAINT "platform_operators_role_check" CHECK ("platform_operators"."role" in ('admin'))
);
--> statement-breakpoint
CREATE TABLE "two_factors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"secret" text NOT NULL,
	"backup_codes" text NOT NULL,
	"user_id" uuid NOT NULL,
	"verified" boolean DEFAULT true NOT NULL,
	"failed_verification_count" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp (6) with time zone
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "two_factor_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "operator_sessions" ADD CONSTRAINT "operator_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "platform_operators" ADD CONSTRAINT "platform_operators_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "two_factors" ADD CONSTRAINT "two_factors_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "operator_sessions_user_idx" ON "operator_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "platform_audit_log_organization_idx" ON "platform_audit_log" USING btree ("organization_id","seq");--> statement-breakpoint
CREATE INDEX "two_factors_user_idx" ON "two_factors" USING btree ("user_id");
--> statement-breakpoint
-- The admin console's tables (DESIGN.md section 7) belong to beheerder alone:
-- neither the request role nor Better Auth's public role may touch them.
REVOKE ALL ON platform_operators, operator_sessions, two_factors, platform_audit_log, platform_audit_checkpoints FROM PUBLIC;
--> statement-breakpoint
-- The platform chain and its checkpoints only grow: UPDATE, DELETE and TRUNCATE
-- are refused (its owner could switch the triggers off: the signed checkpoints
-- and the rows anchored in organizations' chains are what show that).
CREATE FUNCTION kommit_platform_audit_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
  RAISE EXCEPTION 'platform audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER platform_audit_log_append_only BEFORE UPDATE OR DELETE ON platform_audit_log
  FOR EACH ROW EXECUTE FUNCTION kommit_platform_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER platform_audit_log_no_truncate BEFORE TRUNCATE ON platform_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION kommit_platform_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER platform_audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON platform_audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION kommit_platform_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER platform_audit_checkpoints_no_truncate BEFORE TRUNCATE ON platform_audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION kommit_platform_audit_append_only();
--> statement-breakpoint
-- Operators see metadata across organizations; row-level security (forced for
-- beheerder too) keeps every tenant row out of reach without a tenant context.
-- These functions, owned by the BYPASSRLS resolver role and executable only
-- by its members (beheerder), return counts and names, never tenant content.
CREATE FUNCTION kommit_admin_organizations()
RETURNS TABLE (id uuid, name text, slug text, created_at timestamptz, deletion_requested_at timestamptz, members bigint, audit_seq bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT o.id, o.name, o.slug, o.created_at, o.deletion_requested_at,
         (SELECT count(*) FROM public.members m WHERE m.org_id = o.id),
         coalesce((SELECT h.seq FROM public.audit_chain_heads h WHERE h.org_id = o.id), 0)
  FROM public.organizations o
  ORDER BY o.created_at DESC, o.id
$$;
--> statement-breakpoint
-- Rows per tenant table for the given organizations, and their share of the
-- table's storage (the table's size times the organization's share of its
-- rows: an estimate that reads no row content). Tables come from the catalog,
-- so a new tenant table is counted as soon as the resolver may read its org_id.
CREATE FUNCTION kommit_admin_usage(orgs uuid[])
RETURNS TABLE (org_id uuid, table_name text, row_count bigint, bytes bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  table_rows float8;
BEGIN
  FOR t IN
    SELECT c.oid, c.relname, c.reltuples, pg_total_relation_size(c.oid) AS total_bytes
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p')
      -- A tenant table whose org_id was not granted is left out rather than
      -- failing every page (functions/admin/admin.test.ts requires the grant).
      AND has_column_privilege(c.oid, a.attnum, 'SELECT')
    ORDER BY c.relname
  LOOP
    -- The planner's estimate for big tables (kept by autovacuum); small or
    -- never analysed ones are counted.
    table_rows := t.reltuples;
    IF table_rows < 10000 THEN
      EXECUTE format('SELECT count(*) FROM public.%I', t.relname) INTO table_rows;
    END IF;
    RETURN QUERY EXECUTE format(
      'SELECT x.org_id, %L::text, count(*), (count(*) * $2 / greatest($3, count(*), 1))::bigint
       FROM public.%I x WHERE x.org_id = ANY($1) GROUP BY x.org_id',
      t.relname, t.relname)
    USING orgs, t.total_bytes::float8, table_rows;
  END LOOP;
END
$$;
--> statement-breakpoint
-- Webhook deliveries that failed, across organizations: status, attempts and
-- the recorded failure reason, never the body.
CREATE FUNCTION kommit_admin_webhook_failures(max_rows integer)
RETURNS TABLE (org_id uuid, id uuid, endpoint_id uuid, status text, attempts integer, last_error text, received_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT d.org_id, d.id, d.endpoint_id, d.status, d.attempts, d.last_error, d.received_at
  FROM public.webhook_deliveries d
  WHERE d.status IN ('retrying', 'dead')
  ORDER BY d.received_at DESC, d.id
  LIMIT least(max_rows, 500)
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_admin_organizations() OWNER TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_admin_usage(uuid[]) OWNER TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_admin_webhook_failures(integer) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_admin_organizations(), kommit_admin_usage(uuid[]), kommit_admin_webhook_failures(integer) FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT (name, slug, created_at) ON organizations TO kommit_resolver;
--> statement-breakpoint
GRANT SELECT (seq) ON audit_chain_heads TO kommit_resolver;
--> statement-breakpoint
GRANT SELECT (org_id, id, endpoint_id, status, attempts, last_error, received_at) ON webhook_deliveries TO kommit_resolver;
--> statement-breakpoint
-- The resolver may read org_id (and nothing else) of every tenant table there
-- is now; a migration adding a tenant table grants the same (functions/admin/admin.test.ts checks).
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p')
  LOOP
    EXECUTE format('GRANT SELECT (org_id) ON public.%I TO kommit_resolver', t.relname);
  END LOOP;
END
$$;
--> statement-breakpoint
-- Better Auth (its own role) may ask one thing about operators: whether a user
-- it is about to delete is one, so it can refuse with a reason rather than
-- fail on the foreign key.
CREATE FUNCTION kommit_is_platform_operator(candidate uuid)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM public.platform_operators o WHERE o.user_id = candidate)
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO kommit_resolver;
--> statement-breakpoint
ALTER FUNCTION kommit_is_platform_operator(uuid) OWNER TO kommit_resolver;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM kommit_resolver;
--> statement-breakpoint
REVOKE ALL ON FUNCTION kommit_is_platform_operator(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION kommit_is_platform_operator(uuid) TO kommit_identity;
--> statement-breakpoint
GRANT SELECT (user_id) ON platform_operators TO kommit_resolver;
