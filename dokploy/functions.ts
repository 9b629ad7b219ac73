import { z } from 'zod';

/**
 * The deployable services: every function module under functions/ plus the
 * worker. One entry each; everything under dokploy/out/ and wrangler.toml is
 * rendered from here (npm run dokploy:render), and npm run deploy reads it.
 *
 * Invariants (checked by dokploy/functions.test.ts):
 * - every folder under functions/ has an entry of kind "function", named after it;
 * - a function connects as kommit_app and is never given ADMIN_DATABASE_URL;
 *   only the worker and the admin console connect as beheerder;
 * - the admin console (functions/admin, kind "admin") is its own service on
 *   its own host, never a path of the public API;
 * - each function's routes reach it, and only it, through Traefik's path rules.
 */

/** An env var a service needs. Values never live here: see `source`. */
const EnvVar = z.object({
  name: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  /**
   * 'shared': set once per Dokploy project (secrets, URLs) and referenced as
   * ${{project.NAME}}; 'fixed': the value below, the same in every deployment.
   */
  source: z.enum(['shared', 'fixed']),
  value: z.string().optional(),
  /** Only passed on when the project defines it. */
  optional: z.boolean().default(false),
}).refine((v) => (v.source === 'fixed') === (v.value !== undefined), { message: 'fixed vars carry a value, shared ones never do' });

/** How a request reaches a service: a path prefix, or a pattern where a prefix cannot say it. */
const Route = z.union([
  z.object({ prefix: z.string().regex(/^\/[a-z0-9/_-]*[a-z0-9]$/) }),
  z.object({
    /** A Traefik PathRegexp (RE2), anchored at the start. */
    pattern: z.string().startsWith('^/'),
    /** Why a prefix will not do; shown in the rendered description. */
    reason: z.string(),
  }),
]);

const Service = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  kind: z.enum(['function', 'worker', 'admin']),
  description: z.string(),
  /** The database role it connects as; the URL it is given follows from it. */
  role: z.enum(['kommit_app', 'beheerder']),
  routes: z.array(Route),
  /** The container command; absent: the image's (the HTTP server). */
  command: z.array(z.string()).optional(),
  env: z.array(EnvVar),
  replicas: z.number().int().min(1),
  health: z.object({
    path: z.literal('/health'),
    intervalSeconds: z.number().int().positive(),
    timeoutSeconds: z.number().int().positive(),
    startPeriodSeconds: z.number().int().nonnegative(),
    retries: z.number().int().positive(),
  }),
  resources: z.object({
    memoryLimitMb: z.number().int().positive(),
    memoryReservationMb: z.number().int().positive(),
    cpuLimit: z.number().positive(),
    cpuReservation: z.number().positive(),
  }),
  /** Changes under these paths redeploy the service (its own folder plus the shared code it imports). */
  watchPaths: z.array(z.string()).min(1),
});

export type Service = z.infer<typeof Service>;
export type EnvVar = z.infer<typeof EnvVar>;
export type Route = z.infer<typeof Route>;
export const Manifest = z.array(Service).superRefine((services, ctx) => {
  const names = services.map((s) => s.name);
  for (const name of names.filter((n, i) => names.indexOf(n) !== i)) ctx.addIssue({ code: 'custom', message: `duplicate service ${name}` });
  for (const service of services) {
    const urls = service.env.map((e) => e.name);
    if (service.role === 'kommit_app' && urls.includes('ADMIN_DATABASE_URL')) {
      ctx.addIssue({ code: 'custom', message: `${service.name} connects as kommit_app but is given ADMIN_DATABASE_URL` });
    }
    if (service.role === 'beheerder' && (urls.includes('DATABASE_URL') || urls.includes('AUTH_DATABASE_URL'))) {
      ctx.addIssue({ code: 'custom', message: `${service.name} connects as beheerder and needs no request-role URL` });
    }
    if (service.kind === 'worker' && service.routes.length) ctx.addIssue({ code: 'custom', message: `${service.name} serves no public routes` });
    if (service.kind === 'admin' && service.role !== 'beheerder') ctx.addIssue({ code: 'custom', message: `${service.name} runs on the admin role only` });
  }
});

/** The port every HTTP process listens on inside its container. */
export const CONTAINER_PORT = 8787;

const shared = (name: string, optional = false) => ({ name, source: 'shared' as const, optional });
const fixed = (name: string, value: string) => ({ name, source: 'fixed' as const, value, optional: false });

/** What server.ts needs whatever functions it serves (it checks all of them at boot). */
const SERVER_ENV = [
  fixed('NODE_ENV', 'production'),
  fixed('PORT', String(CONTAINER_PORT)),
  shared('DATABASE_URL'),
  shared('AUTH_DATABASE_URL'),
  shared('BETTER_AUTH_SECRET'),
  shared('AUDIT_SIGNING_KEY'),
  shared('WEBHOOK_SECRET_KEY'),
  shared('KOMMIT_BASE_URL'),
  shared('TRUSTED_PROXIES'),
  shared('PGSSLROOTCERT', true),
  shared('LOG_LEVEL', true),
];
const EMBEDDINGS_ENV = ['EMBEDDINGS_URL', 'EMBEDDINGS_MODEL', 'EMBEDDINGS_API_KEY', 'EMBEDDINGS_DIMENSIONS'].map((name) => shared(name, true));

/** Code every function imports: a change there redeploys every function. */
const SHARED_PATHS = ['middleware/**', 'db/**', 'auth/**', 'migrations/**', 'package.json', 'package-lock.json', 'dokploy/Dockerfile', 'dokploy/healthcheck.mjs'];

const FUNCTION_DEFAULTS = {
  kind: 'function' as const,
  role: 'kommit_app' as const,
  replicas: 2,
  health: { path: '/health' as const, intervalSeconds: 10, timeoutSeconds: 3, startPeriodSeconds: 20, retries: 3 },
  resources: { memoryLimitMb: 256, memoryReservationMb: 128, cpuLimit: 1, cpuReservation: 0.25 },
};

function fn(name: string, description: string, routes: Route[], extra: { env?: EnvVar[]; replicas?: number; resources?: Service['resources'] } = {}): Service {
  const { env = [], ...rest } = extra;
  return {
    ...FUNCTION_DEFAULTS,
    name,
    description,
    routes,
    env: [...SERVER_ENV, fixed('FUNCTIONS', name), ...env],
    watchPaths: [`functions/${name}/**`, 'server.ts', ...SHARED_PATHS],
    ...rest,
  };
}

export const services: Service[] = Manifest.parse([
  fn('identity', 'Better Auth (sign-up/in/out, organizations, members, invitations), the session', [{ prefix: '/api/auth' }, { prefix: '/v1/session' }]),
  fn('organizations', 'Hard deletion of an organization', [{ prefix: '/v1/organizations' }], { replicas: 1 }),
  fn('projects', 'Projects', [{ prefix: '/v1/projects' }]),
  fn('api-keys', 'Organization-bound API keys', [{ prefix: '/v1/api-keys' }]),
  fn('decision-events', 'Append-only decision records', [{ prefix: '/v1/decision-events' }]),
  fn('support-transcripts', 'Support conversations', [{ prefix: '/v1/support-transcripts' }]),
  fn('workflows', 'Workflow definitions and runs', [
    { prefix: '/v1/workflows' },
    {
      pattern: '^/v1/projects/[^/]+/workflows(/|$)',
      reason: "a project's workflows sit under /v1/projects/{projectId}/, a prefix that belongs to projects",
    },
  ]),
  fn('search', 'Hybrid search over decision events and transcripts', [{ prefix: '/v1/search' }], { env: EMBEDDINGS_ENV }),
  fn('webhooks', 'Inbound webhook endpoints (management)', [{ prefix: '/v1/webhook-endpoints' }]),
  fn('hooks', 'The public webhook ingress customer systems post to', [{ prefix: '/hooks' }], {
    env: [shared('WEBHOOK_MAX_BODY_BYTES', true), shared('WEBHOOK_RATE_PER_MINUTE', true), shared('WEBHOOK_FAILED_RATE_PER_MINUTE', true)],
  }),
  fn('helpdesk', 'Helpdesk articles (published ones ground the chat widget)', [{ prefix: '/v1/helpdesk' }], { env: EMBEDDINGS_ENV }),
  fn('widget', 'Chat widget configuration (key, origins, identity secret)', [{ prefix: '/v1/widget' }]),
  fn('widget-api', 'The public chat widget API (SSE answers) and widget.js', [{ prefix: '/widget/v1' }, { pattern: '^/widget\\.js$', reason: 'one file at the root, not a folder' }], {
    env: [
      ...EMBEDDINGS_ENV,
      ...['ANSWER_URL', 'ANSWER_MODEL', 'ANSWER_API_KEY', 'ANSWER_TIMEOUT_MS'].map((name) => shared(name, true)),
      ...['WIDGET_RATE_PER_KEY_PER_MINUTE', 'WIDGET_RATE_PER_VISITOR_PER_MINUTE', 'WIDGET_STARTS_PER_ADDRESS_PER_MINUTE', 'WIDGET_QUESTIONS_PER_ADDRESS_PER_MINUTE', 'WIDGET_MAX_QUESTION_CHARS', 'WIDGET_TOKEN_TTL_SECONDS'].map((name) => shared(name, true)),
    ],
  }),
  fn('audit', 'The hash-chained audit log, verification, export', [{ prefix: '/v1/audit-log' }], {
    env: [shared('AUDIT_KEY_NAME', true), shared('AUDIT_CHECKPOINT_EVERY', true), shared('AUDIT_CHECKPOINT_MINUTES', true)],
    // Exports stream up to millions of rows.
    resources: { ...FUNCTION_DEFAULTS.resources, memoryLimitMb: 384 },
  }),
  fn('controls', 'Control library, evidence collection and evidence packs', [{ prefix: '/v1/controls' }, { prefix: '/v1/evidence-packs' }], {
    env: [shared('AUDIT_KEY_NAME', true), shared('AUDIT_CHECKPOINT_EVERY', true), shared('AUDIT_CHECKPOINT_MINUTES', true), shared('EVIDENCE_PACK_MAX_BYTES', true)],
    // A pack is built in memory, up to EVIDENCE_PACK_MAX_BYTES (64 MiB by default).
    resources: { ...FUNCTION_DEFAULTS.resources, memoryLimitMb: 384 },
  }),
  fn('console', 'The web console', [{ prefix: '/console' }], { replicas: 1 }),
  {
    name: 'worker',
    kind: 'worker',
    description: 'Background jobs (graphile-worker): search indexing, organization deletion, webhook processing, scheduled evidence collection',
    role: 'beheerder',
    routes: [],
    command: ['node', '--enable-source-maps', 'dist/worker.mjs'],
    env: [
      fixed('NODE_ENV', 'production'),
      fixed('HEALTH_PORT', String(CONTAINER_PORT)),
      shared('ADMIN_DATABASE_URL'),
      shared('WORKER_CONCURRENCY', true),
      shared('PGSSLROOTCERT', true),
      shared('LOG_LEVEL', true),
      ...EMBEDDINGS_ENV,
    ],
    replicas: 1,
    health: { ...FUNCTION_DEFAULTS.health, startPeriodSeconds: 30 },
    resources: { memoryLimitMb: 384, memoryReservationMb: 192, cpuLimit: 1, cpuReservation: 0.25 },
    // The tasks it runs live in these function folders (functions/jobs.ts lists them).
    watchPaths: ['worker.ts', 'functions/jobs.ts', 'functions/controls/**', 'functions/hooks/**', 'functions/organizations/**', 'functions/search/**', ...SHARED_PATHS],
  },
  {
    name: 'admin',
    kind: 'admin',
    description: 'The admin console for platform operators (beheerder role, TOTP sign-in), on its own host',
    role: 'beheerder',
    routes: [{ prefix: '/admin' }],
    command: ['node', '--enable-source-maps', 'dist/admin.mjs'],
    env: [
      fixed('NODE_ENV', 'production'),
      fixed('ADMIN_PORT', String(CONTAINER_PORT)),
      shared('ADMIN_DATABASE_URL'),
      shared('ADMIN_AUTH_SECRET'),
      shared('ADMIN_BASE_URL'),
      shared('AUDIT_SIGNING_KEY'),
      shared('AUDIT_KEY_NAME', true),
      shared('AUDIT_CHECKPOINT_EVERY', true),
      shared('AUDIT_CHECKPOINT_MINUTES', true),
      shared('TRUSTED_PROXIES'),
      shared('PGSSLROOTCERT', true),
      shared('LOG_LEVEL', true),
    ],
    replicas: 1,
    health: FUNCTION_DEFAULTS.health,
    resources: FUNCTION_DEFAULTS.resources,
    watchPaths: ['admin.ts', 'functions/admin/**', ...SHARED_PATHS],
  },
]);

export function serviceByName(name: string) {
  const service = services.find((s) => s.name === name);
  if (!service) throw new Error(`unknown service "${name}"; valid: ${services.map((s) => s.name).join(', ')}`);
  return service;
}
