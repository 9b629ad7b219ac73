import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../db/tenant.ts';
import { startTestServer } from '../test/server.ts';
import { createTenant } from '../test/tenants.ts';
import { useTestServer } from '../test/use-server.ts';

const env = useTestServer();

describe('the platform app', () => {
  it('answers /health with 200 and the served functions, nothing about tenants', async () => {
    const response = await fetch(`${env.server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', functions: ['identity', 'organizations', 'projects', 'api-keys', 'decision-events', 'support-transcripts', 'workflows', 'search', 'webhooks', 'hooks', 'helpdesk', 'widget', 'widget-api', 'audit', 'controls', 'console'] });
  });

  it('answers /health with 503 before the boot checks passed and when the database is gone', async () => {
    const notReady = await startTestServer(env.db, { ready: () => false });
    const closed = createDatabase(env.db.appUrl, { ca: env.db.ca, max: 1 });
    await closed.close();
    const noDatabase = await startTestServer(env.db, { database: closed });
    try {
      for (const url of [notReady.url, noDatabase.url]) {
        const response = await fetch(`${url}/health`);
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect((await response.json()).status).toBe('unavailable');
      }
    } finally {
      await notReady.close();
      await noDatabase.close();
    }
  });

  it('serves /health over plain HTTP in production, where other routes are refused', async () => {
    const production = await startTestServer(env.db, { config: { production: true } });
    try {
      expect((await fetch(`${production.url}/health`)).status).toBe(200);
      expect((await fetch(`${production.url}/openapi.json`, { redirect: 'manual' })).status).toBe(308);
    } finally {
      await production.close();
    }
  });

  it('publishes an OpenAPI document describing every route', async () => {
    const response = await fetch(`${env.server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual([
      '/hooks/{endpointId}',
      '/v1/api-keys',
      '/v1/api-keys/{id}',
      '/v1/audit-log',
      '/v1/audit-log/checkpoints',
      '/v1/audit-log/export',
      '/v1/audit-log/public-key',
      '/v1/audit-log/verify',
      '/v1/controls',
      '/v1/controls/frameworks',
      '/v1/controls/summary',
      '/v1/controls/{id}',
      '/v1/controls/{id}/collect',
      '/v1/decision-events',
      '/v1/decision-events/{id}',
      '/v1/decision-events/{id}/archive',
      '/v1/evidence-packs',
      '/v1/helpdesk/articles',
      '/v1/helpdesk/articles/{id}',
      '/v1/organizations/{id}',
      '/v1/projects',
      '/v1/projects/{id}',
      '/v1/projects/{projectId}/workflows',
      '/v1/search',
      '/v1/session',
      '/v1/session/active-organization',
      '/v1/support-transcripts',
      '/v1/support-transcripts/{id}',
      '/v1/webhook-endpoints',
      '/v1/webhook-endpoints/{id}',
      '/v1/webhook-endpoints/{id}/deliveries',
      '/v1/webhook-endpoints/{id}/rotate-secret',
      '/v1/widget',
      '/v1/widget/identity-secret',
      '/v1/workflows/{id}',
      '/v1/workflows/{id}/runs',
      '/v1/workflows/{id}/runs/{runId}',
      '/v1/workflows/{id}/runs/{runId}/complete',
      '/v1/workflows/{id}/runs/{runId}/reject',
      '/v1/workflows/{id}/versions/{version}',
      '/widget.js',
      '/widget/v1/articles/{slug}',
      '/widget/v1/conversations',
      '/widget/v1/conversations/{conversationId}/messages',
    ]);
    expect(Object.keys(document.paths['/v1/projects/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(document.components.securitySchemes.apiKey.scheme).toBe('bearer');
  });

  it('describes every operation with a summary and every JSON body and 2xx response with an example that has the required fields', async () => {
    const document = await (await fetch(`${env.server.url}/openapi.json`)).json();
    const schemas = document.components.schemas;
    const resolve = (schema: { $ref?: string }) => (schema.$ref ? schemas[schema.$ref.split('/').pop()!] : schema);
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(operation.summary, name).toBeTruthy();
        const media = [
          ['request', operation.requestBody?.content?.['application/json']],
          ...Object.entries(operation.responses ?? {})
            .filter(([status]) => status.startsWith('2'))
            .map(([status, response]: [string, any]) => [status, response.content?.['application/json']]),
        ] as [string, { schema: any; example: unknown } | undefined][];
        for (const [what, m] of media) {
          if (!m) continue;
          expect(m.example, `${name} ${what}`).toBeDefined();
          const schema = resolve(m.schema);
          for (const field of schema.required ?? []) expect(m.example, `${name} ${what} lacks ${field}`).toHaveProperty(field);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('gives every parameter of every operation an example (the cursor, opaque, says where it comes from instead)', async () => {
    const document = await (await fetch(`${env.server.url}/openapi.json`)).json();
    const missing = Object.entries(document.paths as Record<string, Record<string, { parameters?: { name: string; in: string; example?: unknown; schema?: { example?: unknown } }[] }>>).flatMap(
      ([path, item]) =>
        Object.entries(item).flatMap(([method, operation]) =>
          (operation.parameters ?? []).filter((p) => p.name !== 'cursor' && p.example === undefined && p.schema?.example === undefined).map((p) => `${method} ${path} ${p.in} ${p.name}`),
        ),
    );
    expect(missing).toEqual([]);
  });

  it('declares, on every operation, the errors the shared middleware gives, each with a problem+json body', async () => {
    const document = await (await fetch(`${env.server.url}/openapi.json`)).json();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const name = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(operation.responses);
        expect(statuses, name).toEqual(expect.arrayContaining(['429', '503', ...(operation.requestBody ? ['413', '415'] : [])]));
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(operation.responses[status].content?.['application/problem+json']?.schema, `${name} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        }
      }
    }
  });

  it('serves the API reference page and its assets without any CDN', async () => {
    const page = await fetch(`${env.server.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/assets/init.js');
    expect(html).not.toMatch(/https?:\/\//);
    expect(await (await fetch(`${env.server.url}/docs/assets/init.js`)).text()).toContain("'/openapi.json'");
    for (const asset of ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/init.js']) {
      const response = await fetch(env.server.url + asset);
      expect(response.status, asset).toBe(200);
      expect((await response.text()).length).toBeGreaterThan(10);
    }
    expect((await fetch(`${env.server.url}/docs/assets/package.json`)).status).toBe(404);
  });

  it('answers unknown routes with a problem+json 404, not an authentication error', async () => {
    const response = await fetch(`${env.server.url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('sets security headers and a request id on every response', async () => {
    const response = await fetch(`${env.server.url}/v1/projects`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it("makes its own request id, never the client's X-Request-Id, even through a trusted proxy: audit rows and problems carry ours", async () => {
    // An id another request already had, in the form hono/request-id accepts.
    const borrowed = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
    const tenant = await createTenant(env.db, env.server, 'Request Ids');
    const created = await fetch(`${env.server.url}/v1/projects`, { method: 'POST', headers: { ...tenant.headers, 'x-request-id': borrowed }, body: JSON.stringify({ name: 'ids' }) });
    expect(created.status).toBe(201);
    const ours = created.headers.get('x-request-id');
    expect(ours).toMatch(/^[0-9a-f-]{36}$/);
    expect(ours).not.toBe(borrowed);
    const [row] = await env.db.admin.withTenant(tenant.orgId, (tx) =>
      tx.execute<{ request_id: string }>(sql`select request_id from audit_log where action = 'project.create' order by seq desc limit 1`),
    );
    expect(row!.request_id).toBe(ours);

    const behindProxy = await startTestServer(env.db, { config: { trustedProxies: ['127.0.0.0/8'] } });
    try {
      for (const url of [env.server.url, behindProxy.url]) {
        const refused = await fetch(`${url}/v1/projects`, { headers: { 'x-request-id': borrowed, 'x-forwarded-for': '203.0.113.9' } });
        expect(refused.status).toBe(401);
        const { instance } = await refused.json();
        expect(instance).not.toBe(borrowed);
        expect(instance).toBe(refused.headers.get('x-request-id'));
      }
    } finally {
      await behindProxy.close();
    }
  });
});
