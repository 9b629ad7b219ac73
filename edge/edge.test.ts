import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Miniflare } from 'miniflare';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrganization } from '../db/operators.ts';
import { createSecretBox } from '../db/secret-box.ts';
import { insertWebhookEndpoint } from '../db/webhooks.ts';
import { services } from '../dokploy/functions.ts';
import { COMPATIBILITY_DATE } from '../dokploy/render.ts';
import { functionRegistry } from '../functions/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { startTestServer, TEST_SECRET_KEY } from '../test/server.ts';
import { bundleEdgeEntry, bundleEdgeFunction, nodeOnlyImports, type EdgeBundle } from './build.ts';

// Every function module, bundled for workerd as `npm run build:edge` bundles
// it, runs in workerd (miniflare 4) against the test Postgres: as kommit_app
// over TLS that workerd verifies itself (cloudflare:sockets + startTls; the
// test CA is given to the runtime's network, as a private CA would be).

const functionNames = services.filter((s) => s.kind === 'function').map((s) => s.name);
const bundles = new Map<string, EdgeBundle>();
let db: TestDatabase;
let mf: Miniflare;

const BETTER_AUTH_SECRET = randomBytes(32).toString('base64url');
const AUDIT_SIGNING_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

beforeAll(async () => {
  db = await createTestDatabase();
  await Promise.all(functionNames.map(async (name) => bundles.set(name, await bundleEdgeFunction(name))));
  // The URLs name no CA: at the edge the runtime's trust store decides.
  const url = (u: string) => u.replace(/\?.*$/, '');
  const bindings = { DATABASE_URL: url(db.appUrl), AUTH_DATABASE_URL: url(db.authUrl), BETTER_AUTH_SECRET, WEBHOOK_SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent' };
  // Each worker answers on a host of its own (dispatchFetch routes by host, as a real edge would).
  const worker = (name: string, fn = name, extra: Record<string, string> = {}) => ({
    name,
    routes: [`${name}.kommit.test/*`],
    modules: [{ type: 'ESModule' as const, path: `${name}.mjs`, contents: bundles.get(fn)!.code }],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    bindings: { ...bindings, ...extra },
    outboundService: { network: { allow: ['public', 'private'], tlsOptions: { trustedCertificates: [db.ca] } } },
  });
  mf = new Miniflare({
    workers: [
      ...functionNames.map((name) => worker(name)),
      worker('projects-production', 'projects', { NODE_ENV: 'production', KOMMIT_BASE_URL: 'https://projects-production.kommit.test', AUDIT_SIGNING_KEY }),
      worker('projects-production-no-origin', 'projects', { NODE_ENV: 'production', AUDIT_SIGNING_KEY }),
      worker('projects-production-unsigned', 'projects', { NODE_ENV: 'production', KOMMIT_BASE_URL: 'https://projects-production-unsigned.kommit.test' }),
      worker('projects-owner', 'projects', { DATABASE_URL: url(db.adminUrl) }),
      worker('projects-limited', 'projects', { RATE_LIMIT_PER_ADDRESS: '3', CLIENT_ADDRESS_HEADER: 'x-client-address' }),
      worker('projects-misconfigured', 'projects', { WEBHOOK_SECRET_KEY: 'c2hvcnQ=' }),
    ],
  });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await db?.close();
});

async function call(name: string, path: string, init: RequestInit & { scheme?: 'http' | 'https' } = {}) {
  const response = await mf.dispatchFetch(`${init.scheme ?? 'https'}://${name}.kommit.test${path}`, { ...init, redirect: 'manual' } as never);
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, body };
}

describe('every function in workerd', () => {
  it('imports no Node-only module (node:fs, node:net, node:tls, node:os, node:child_process...)', () => {
    for (const name of functionNames) expect(nodeOnlyImports(bundles.get(name)!), name).toEqual([]);
  });

  it('would notice one that did', async () => {
    const bundle = await bundleEdgeEntry(`import { readFileSync } from 'node:fs';\nexport default { fetch: () => new Response(readFileSync('/etc/hostname')) };`, 'node-only.ts');
    expect(nodeOnlyImports(bundle)).toEqual([{ module: 'node:fs', importedBy: ['node-only.ts'] }]);
  });

  it.each(functionNames)('%s: /health, the OpenAPI document, and problem+json for what has no route', async (name) => {
    const health = await call(name, '/health');
    expect(health.status, JSON.stringify(health.body)).toBe(200);
    expect(health.body).toEqual({ status: 'ok', functions: [name] });
    const openapi = await call(name, '/openapi.json');
    expect(openapi.status).toBe(200);
    const documented = Object.keys(openapi.body.paths ?? {});
    const own = functionRegistry[name]!.openAPIRegistry.definitions.filter((d) => d.type === 'route').map((d) => (d as { route: { path: string } }).route.path);
    expect(documented.sort()).toEqual([...new Set(own)].sort());
    const missing = await call(name, '/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.type).toBe('application/problem+json');
  });

  it.each(functionNames)('%s: every route answers a request without credentials as the Node server does', async (name) => {
    const node = await startTestServer(db, { functions: [functionRegistry[name]!] });
    try {
      for (const route of functionRegistry[name]!.routes) {
        if (route.method === 'ALL') continue;
        const path = route.path.replace(/:[^/]+/g, '3f1c2b7e-9d4a-4b8e-a1c6-5e2f7d9b0a13').replace(/\*$/, 'ok');
        const body = route.method === 'GET' ? undefined : '{}';
        const edge = await call(name, path, { method: route.method, body, headers: { origin: `https://${name}.kommit.test`, 'content-type': 'application/json' } });
        const onNode = await fetch(`${node.url}${path}`, { method: route.method, body, redirect: 'manual', headers: { origin: node.url, 'content-type': 'application/json' } });
        const where = `${route.method} ${path}: ${JSON.stringify(edge.body).slice(0, 200)}`;
        expect(edge.status, where).toBe(onNode.status);
        expect(edge.status, where).toBeLessThan(500);
        expect(edge.type.split(';')[0], where).toBe((onNode.headers.get('content-type') ?? '').split(';')[0]);
      }
    } finally {
      await node.close();
    }
  });

  it('answers the public routes that need no database, as on Node', async () => {
    expect((await call('projects', '/v1/projects')).body).toMatchObject({ status: 401, title: 'Authentication is required' });
    expect((await call('workflows', `/v1/projects/${randomUUID()}/workflows`)).status).toBe(401);
    expect((await call('audit', '/v1/audit-log/public-key')).status).toBe(401);
    const hook = await call('hooks', `/hooks/${randomUUID()}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(hook.status).toBe(400);
    expect(hook.body.errors.map((e: { path: string }) => e.path)).toEqual(['header.webhook-id', 'header.webhook-timestamp', 'header.webhook-signature']);
    expect((await call('identity', '/api/auth/ok')).body).toEqual({ ok: true });
    const signIn = await call('console', '/console/sign-in');
    expect(signIn.status).toBe(200);
    expect(signIn.type).toMatch(/^text\/html/);
  });

  it('limits a body streamed without a length: workerd marks it Transfer-Encoding: chunked, which limitBodies reads', async () => {
    // limitBodies (middleware/platform-app.ts) takes "neither Content-Length nor
    // Transfer-Encoding" for "no body", as Node's HTTP server guarantees; this
    // holds workerd to the same. The default limit is 1 MiB.
    const streamed = (bytes: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let sent = 0; sent < bytes; sent += 64 * 1024) controller.enqueue(new Uint8Array(Math.min(64 * 1024, bytes - sent)).fill(0x20));
          controller.close();
        },
      });
    const post = (bytes: number) =>
      call('projects', '/v1/projects', { method: 'POST', body: streamed(bytes), duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
    const tooLarge = await post(1024 * 1024 + 1);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.type).toBe('application/problem+json');
    // Within the limit it goes on to the credentials check.
    expect((await post(1024)).status).toBe(401);
  });

  it('keeps TLS-only in production: plain HTTP is redirected, /health still answers', async () => {
    const plain = await call('projects-production', '/v1/projects', { scheme: 'http' });
    expect(plain.status).toBe(308);
    expect(plain.headers.get('location')).toBe('https://projects-production.kommit.test/v1/projects');
    expect((await call('projects-production', '/health', { scheme: 'http' })).status).toBe(200);
    expect((await call('projects-production', '/v1/projects')).headers.get('strict-transport-security')).toMatch(/max-age=/);
  });
});

describe('functions in workerd against Postgres', () => {
  it('lists and creates projects with an API key, inside the tenant, as kommit_app', async () => {
    const acme = await createOrganization(db.admin, { name: 'Acme Edge' });
    const globex = await createOrganization(db.admin, { name: 'Globex Edge' });
    const { key } = await createApiKey(db.admin, acme, 'edge');
    const { key: globexKey } = await createApiKey(db.admin, globex, 'edge');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await call('projects', '/v1/projects', { method: 'POST', headers, body: JSON.stringify({ name: 'Loan approvals' }) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const list = await call('projects', '/v1/projects', { headers });
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: { name: string }) => p.name)).toEqual(['Loan approvals']);
    // Requests served at once by the isolate's one platform each use their own connections.
    const together = await Promise.all(Array.from({ length: 4 }, () => call('projects', '/v1/projects', { headers })));
    expect(together.map((r) => [r.status, r.body.data?.length])).toEqual(Array(4).fill([200, 1]));
    // Another organization's key sees none of it; a made-up key is refused.
    expect((await call('projects', '/v1/projects', { headers: { authorization: `Bearer ${globexKey}` } })).body.data).toEqual([]);
    expect((await call('projects', `/v1/projects/${created.body.id}`, { headers: { authorization: `Bearer ${globexKey}` } })).status).toBe(404);
    expect((await call('projects', '/v1/projects', { headers: { authorization: `Bearer km_${randomBytes(32).toString('base64url')}` } })).status).toBe(401);
    // The write went through the audited tenant transaction.
    const [audit] = await db.admin.withTenant(acme, (tx) => tx.execute<{ action: string }>(sql`select action from audit_log order by seq desc limit 1`));
    expect(audit!.action).toBe('project.create');
  });

  it('keeps its rate limits across requests: the per-address budget runs out and answers 429', async () => {
    const from = (address: string) => call('projects-limited', '/v1/projects', { headers: { 'x-client-address': address } });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.7')).status).toBe(401);
    const limited = await from('203.0.113.7');
    expect(limited.status).toBe(429);
    expect(limited.type).toBe('application/problem+json');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // The budget is that address's, not the worker's.
    expect((await from('203.0.113.8')).status).toBe(401);
  });

  it('refuses to serve in production without KOMMIT_BASE_URL, rather than trusting the first request\'s Host', async () => {
    const refused = await call('projects-production-no-origin', '/v1/projects');
    expect(refused.status).toBe(503);
    expect(refused.type).toBe('application/problem+json');
    expect(refused.body.detail).toContain('KOMMIT_BASE_URL');
  });

  it('refuses to serve in production without AUDIT_SIGNING_KEY, as the Node server refuses to start: it would sign no checkpoints', async () => {
    for (const path of ['/health', '/v1/projects']) {
      const refused = await call('projects-production-unsigned', path);
      expect(refused.status).toBe(503);
      expect(refused.type).toBe('application/problem+json');
      expect(refused.body.detail).toBe('This worker is missing configuration: AUDIT_SIGNING_KEY.');
    }
    // Outside production a worker without the key still serves (every other worker here has none).
    expect((await call('projects', '/health')).status).toBe(200);
  });

  it('answers 503 problem+json, not the runtime\'s bare 500, when a binding is refused (a sealing key that is not 32 bytes)', async () => {
    for (let i = 0; i < 2; i++) {
      const refused = await call('projects-misconfigured', '/v1/projects');
      expect(refused.status).toBe(503);
      expect(refused.type).toBe('application/problem+json');
      expect(refused.body.detail).toMatch(/configuration was refused/);
    }
  });

  it("refuses to serve, as the Node server refuses to start, when its connection is the owner's", async () => {
    for (const path of ['/health', '/v1/projects']) {
      const refused = await call('projects-owner', path);
      expect(refused.status).toBe(503);
      expect(refused.body.detail).toMatch(/failed the start-up checks/);
    }
  });

  it('signs up and reads the session through Better Auth (identity)', async () => {
    const headers = { 'content-type': 'application/json', origin: 'https://identity.kommit.test' };
    const signUp = await call('identity', '/api/auth/sign-up/email', {
      method: 'POST',
      headers,
      body: JSON.stringify({ email: `edge-${randomBytes(4).toString('hex')}@kommit.test`, password: 'correct horse battery', name: 'Edge' }),
    });
    expect(signUp.status, JSON.stringify(signUp.body)).toBe(200);
    const cookie = signUp.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    expect(cookie).toMatch(/session_token=/);
    const session = await call('identity', '/v1/session', { headers: { cookie } });
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    expect(session.body.user.name).toBe('Edge');
  });

  it('receives a signed webhook delivery, stores it once, and refuses a bad signature', async () => {
    const org = await createOrganization(db.admin, { name: 'Hooked Edge' });
    const { row: endpoint, secret } = await db.admin.withTenant(org, async (tx) => {
      const [project] = await tx.execute<{ id: string }>(sql`insert into projects (org_id, name) values (${org}, 'CRM') returning id`);
      return insertWebhookEndpoint(tx, createSecretBox(TEST_SECRET_KEY), org, { name: 'crm', projectId: project!.id, target: 'raw_event' });
    });
    const body = JSON.stringify({ deal: 42 });
    const deliver = (id: string, signWith = secret) => {
      const at = new Date();
      return call('hooks', `/hooks/${endpoint.id}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(signWith).sign(id, at, body) },
      });
    };
    const first = await deliver('msg_edge_1');
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body.status).toBe('received');
    const again = await deliver('msg_edge_1');
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id: first.body.id, status: 'duplicate' });
    expect((await deliver('msg_edge_2', `whsec_${randomBytes(24).toString('base64')}`)).status).toBe(404);
    const [stored] = await db.admin.withTenant(org, (tx) => tx.execute<{ n: number; body: string }>(sql`select count(*)::int as n, max(body) as body from webhook_deliveries`));
    expect(stored).toEqual({ n: 1, body });
  });
});
