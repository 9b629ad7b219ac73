import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashApiKey } from '../auth/api-keys.ts';
import { createDatabase } from '../db/tenant.ts';
import { startTestServer } from '../test/server.ts';
import { createTenant } from '../test/tenants.ts';
import { useTestServer } from '../test/use-server.ts';
import { freePort } from '../test/ports.ts';
import { someoneWaitsForALock } from '../test/races.ts';

const env = useTestServer();

async function timed(pending: Promise<Response>) {
  const started = performance.now();
  const response = await pending;
  return { response, ms: performance.now() - started, body: await response.json() };
}

describe('a duplicate key', () => {
  it('in the audit chain is our fault: a 500, never a 409 telling the client to retry, and nothing is written', async () => {
    const tenant = await createTenant(env.db, env.server, 'Forked');
    const create = (name: string) => fetch(`${env.server.url}/v1/projects`, { method: 'POST', headers: { ...tenant.headers, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
    expect((await create('First')).status).toBe(201);
    // A chain head set back one row, as a bug in the append path would leave it: the next append claims a seq that is taken.
    await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute(sql`update audit_chain_heads set seq = seq - 1 where org_id = ${tenant.orgId}`));
    const forked = await create('Second');
    expect(forked.status).toBe(500);
    expect(forked.headers.get('content-type')).toBe('application/problem+json');
    const listed = await (await fetch(`${env.server.url}/v1/projects`, { headers: tenant.headers })).json();
    expect(listed.data.map((p: { name: string }) => p.name)).toEqual(['First']);
  });
});

describe('when the database cannot serve a request', () => {
  it('answers 503 with Retry-After at once when every connection is taken, and serves again when one frees up', async () => {
    const tenant = await createTenant(env.db, env.server, 'Busy');
    const database = createDatabase(env.db.appUrl, { ca: env.db.ca, max: 1, queueTimeoutMs: 300 });
    const server = await startTestServer(env.db, { database });
    try {
      // One slow tenant transaction holds the only connection.
      const slow = database.withTenant(tenant.orgId, (tx) => tx.execute(sql`select pg_sleep(1.5)`));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { response, ms, body } = await timed(fetch(`${server.url}/v1/projects`, { headers: tenant.headers }));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(body.detail).toMatch(/busy or unreachable/);
      expect(ms).toBeLessThan(1200);
      await slow;
      expect((await fetch(`${server.url}/v1/projects`, { headers: tenant.headers })).status).toBe(200);
    } finally {
      await server.close();
      await database.close();
    }
  });

  it('answers 503 with Retry-After, quickly, when the database does not answer at all', async () => {
    const tenant = await createTenant(env.db, env.server, 'Gone');
    const url = new URL(env.db.appUrl);
    url.port = String(await freePort());
    const database = createDatabase(url.toString(), { ca: env.db.ca, max: 2 });
    const server = await startTestServer(env.db, { database });
    try {
      const { response, ms, body } = await timed(fetch(`${server.url}/v1/projects`, { headers: tenant.headers }));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(body.type).toBe('urn:kommit:problem:unavailable');
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|at .*\.ts/);
      expect(ms).toBeLessThan(3000);
    } finally {
      await server.close();
      await database.close();
    }
  });

  it('answers 503 with Retry-After when Postgres rolls the request back to break a deadlock, having written nothing', async () => {
    const tenant = await createTenant(env.db, env.server, 'Deadlocked');
    const project = (await tenant.owner.request('POST', '/v1/projects', { name: 'contended' })).body.id as string;
    const keyHash = hashApiKey(tenant.key);
    let requested!: Promise<Response>;
    // Another transaction holds the project, the request waits for it while
    // holding its API key's lock, which the other one then asks for: a cycle.
    const other = env.db.admin.withTenant(tenant.orgId, async (tx) => {
      await tx.execute(sql`select 1 from projects where id = ${project} for update`);
      requested = fetch(`${env.server.url}/v1/projects/${project}`, { method: 'PATCH', headers: tenant.headers, body: JSON.stringify({ name: 'renamed' }) });
      await someoneWaitsForALock(env.db);
      await tx.execute(sql`select pg_advisory_xact_lock(kommit_api_key_lock(${keyHash}))`);
    });
    // Postgres ends the cycle by rolling back the one that waited first: the request.
    await other;
    const response = await requested;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect((await response.json()).detail).toMatch(/collided with a concurrent change.*nothing was written/);
    const [row] = await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute<{ name: string }>(sql`select name from projects where id = ${project}`));
    expect(row).toEqual({ name: 'contended' });
  });

  it('ends a transaction left idle, so a stuck request cannot hold its connection', async () => {
    const database = createDatabase(env.db.appUrl, { ca: env.db.ca, max: 1, idleInTransactionSeconds: 1 });
    try {
      const tenant = await createTenant(env.db, env.server, 'Idle');
      const stuck = database.withTenant(tenant.orgId, async (tx) => {
        await tx.execute(sql`select 1`);
        await new Promise((resolve) => setTimeout(resolve, 1800));
        await tx.execute(sql`select 1`);
      });
      await expect(stuck).rejects.toThrow();
      // The pool recovers: the next transaction gets a working connection.
      await expect(database.withTenant(tenant.orgId, (tx) => tx.execute(sql`select 1 as ok`))).resolves.toBeDefined();
    } finally {
      await database.close();
    }
  });
});
