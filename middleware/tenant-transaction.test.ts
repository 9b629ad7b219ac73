import { createRoute, z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { auditChainHeads, auditLog } from '../db/schema/audit.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projects } from '../db/schema/projects.ts';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { startTestServer, type TestServer } from '../test/server.ts';
import { createTenant, type TestTenant } from '../test/tenants.ts';
import identity from '../functions/identity/index.ts';
import { audit } from './audit.ts';
import { ApiError } from './errors.ts';
import { createFunctionApp } from './function-app.ts';

// A function that writes a project and then fails in each of the ways a handler
// can: the write must never outlive the failure.
const probe = createFunctionApp('rollback-probe');
const endings = {
  ok: null,
  throws: 'a plain exception after the write',
  'api-error': 'a 4xx ApiError after the write',
  'returns-500': 'a 5xx response without throwing',
} as const;
probe.openapi(
  createRoute({
    method: 'post',
    path: '/v1/rollback-probe/{ending}',
    request: { params: z.object({ ending: z.enum(Object.keys(endings) as [keyof typeof endings]) }), body: { content: { 'application/json': { schema: z.object({ name: z.string() }) } } } },
    responses: { 201: { description: 'written' } },
  }),
  async (c) => {
    const { ending } = c.req.valid('param');
    await c.var.tx.insert(projects).values({ orgId: c.var.org.id, name: c.req.valid('json').name });
    if (ending === 'throws') throw new Error('boom after writing');
    if (ending === 'api-error') throw new ApiError('conflict', 'changed my mind');
    if (ending === 'returns-500') return c.json({ error: 'handled badly' }, 500) as never;
    return c.body(null, 201);
  },
);
// The same with the governed action's audit row, which is sent ahead and
// answered only with COMMIT (middleware/audit.ts).
const auditedEndings = { ok: null, throws: 'an exception after the audit row', 'reads-back': null } as const;
probe.openapi(
  createRoute({
    method: 'post',
    path: '/v1/rollback-probe/audited/{ending}',
    request: { params: z.object({ ending: z.enum(Object.keys(auditedEndings) as [keyof typeof auditedEndings]) }), body: { content: { 'application/json': { schema: z.object({ name: z.string(), note: z.string().optional() }) } } } },
    responses: { 201: { description: 'written' } },
  }),
  async (c) => {
    const { ending } = c.req.valid('param');
    const [row] = await c.var.tx.insert(projects).values({ orgId: c.var.org.id, name: c.req.valid('json').name }).returning();
    await audit(c, { action: 'project.create', targetType: 'project', targetId: row!.id, data: { note: c.req.valid('json').note } });
    if (ending === 'throws') throw new Error('boom after auditing');
    // A statement after audit() runs after the append, and sees its row.
    const [seen] = ending === 'reads-back' ? await c.var.tx.select({ n: sql<number>`count(*)::int` }).from(auditLog).where(eq(auditLog.targetId, row!.id)) : [];
    return c.json({ seen: seen?.n ?? null }, 201) as never;
  },
);

let db: TestDatabase;
let server: TestServer;
let tenant: TestTenant;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db, { functions: [identity, probe] });
  tenant = await createTenant(db, server, 'Rollback');
});
afterAll(async () => {
  await server.close();
  await db.close();
});

async function stored(name: string, orgId = tenant.orgId) {
  return db.admin.withTenant(orgId, (tx) => tx.select().from(projects).where(eq(projects.name, name)));
}

async function auditRowsFor(projectName: string, orgId = tenant.orgId) {
  return db.admin.withTenant(orgId, (tx) =>
    tx.select().from(auditLog).where(sql`${auditLog.targetId} in (select id::text from projects where name = ${projectName})`),
  );
}

function post(path: string, name: string, headers = tenant.headers, extra: Record<string, string> = {}) {
  return fetch(`${server.url}/v1/rollback-probe/${path}`, { method: 'POST', headers, body: JSON.stringify({ name, ...extra }) });
}

describe('the tenant transaction', () => {
  it('commits what a successful handler wrote', async () => {
    const response = await fetch(`${server.url}/v1/rollback-probe/ok`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name: 'kept' }) });
    expect(response.status).toBe(201);
    expect(await stored('kept')).toHaveLength(1);
  });

  for (const [ending, description] of Object.entries(endings).filter(([, d]) => d)) {
    it(`rolls back on ${description}`, async () => {
      const name = `lost-${ending}`;
      const response = await fetch(`${server.url}/v1/rollback-probe/${ending}`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name }) });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(await stored(name)).toEqual([]);
    });
  }

  it('answers an unexpected exception with a 500 problem that reveals nothing', async () => {
    const response = await fetch(`${server.url}/v1/rollback-probe/throws`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name: 'x' }) });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(text).not.toContain('boom');
    expect(text).not.toMatch(/\.ts:\d+/);
    expect(JSON.parse(text).instance).toBe(response.headers.get('x-request-id'));
  });

  describe('with an audit row sent ahead of COMMIT', () => {
    it('commits the change with its audit row', async () => {
      const response = await post('audited/ok', 'audited');
      expect(response.status).toBe(201);
      expect(await stored('audited')).toHaveLength(1);
      expect(await auditRowsFor('audited')).toHaveLength(1);
    });

    it('runs statements made after audit() after the append', async () => {
      const response = await post('audited/reads-back', 'read back');
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ seen: 1 });
    });

    it('rolls back the change and its audit row when the handler fails afterwards', async () => {
      const response = await post('audited/throws', 'audited then lost');
      expect(response.status).toBe(500);
      expect(await stored('audited then lost')).toEqual([]);
    });

    it('answers for the append when audited data cannot be stored (a NUL), whether or not a statement followed it', async () => {
      for (const ending of ['ok', 'reads-back']) {
        const response = await post(`audited/${ending}`, `nul note ${ending}`, tenant.headers, { note: 'a\u0000b' });
        expect(response.status, ending).toBe(400);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(await stored(`nul note ${ending}`)).toEqual([]);
      }
    });

    it('fails closed when the append itself fails: the request fails and the change is not kept', async () => {
      // An organization whose chain head is gone: its append cannot be written.
      const broken = await createTenant(db, server, 'Broken chain');
      await db.admin.withTenant(broken.orgId, (tx) => tx.delete(auditChainHeads));
      const response = await post('audited/ok', 'unaudited', broken.headers);
      expect(response.status).toBe(500);
      expect(await stored('unaudited', broken.orgId)).toEqual([]);
      // The same when a statement follows the failed append.
      const readBack = await post('audited/reads-back', 'unaudited too', broken.headers);
      expect(readBack.status).toBe(500);
      expect(await stored('unaudited too', broken.orgId)).toEqual([]);
    });
  });
});
