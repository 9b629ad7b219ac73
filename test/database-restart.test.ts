import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrganization } from '../db/operators.ts';
import { cloneDatabase, startTestCluster, type TestDatabase } from './cluster.ts';
import { startTestServer, type TestServer } from './server.ts';

// Its own Postgres, so restarting it disturbs no other test file.
let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let db: TestDatabase;
let server: TestServer;
beforeAll(async () => {
  cluster = await startTestCluster();
  db = await cloneDatabase(cluster);
  server = await startTestServer(db);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await db?.close().catch(() => {});
  await cluster?.stop();
});

describe('Postgres restarted under load', () => {
  it('fails requests fast with 503 and Retry-After during the outage, recovers without a restart, and leaves no write without its audit row', { timeout: 120_000 }, async () => {
    const orgId = await createOrganization(db.admin, { name: 'Restarted' });
    const { key } = await createApiKey(db.admin, orgId, 'load');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const outcomes: { status: number; ms: number; retryAfter: string | null; phase: string }[] = [];
    let phase = 'before';
    let running = true;
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; running; i++) {
          const started = performance.now();
          const response = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers, body: JSON.stringify({ name: `w${worker}-${i}` }) });
          await response.arrayBuffer();
          outcomes.push({ status: response.status, ms: performance.now() - started, retryAfter: response.headers.get('retry-after'), phase });
          if (response.status === 503) await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    phase = 'outage';
    await cluster.pause();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    phase = 'after';
    await cluster.resume();
    const resumedAt = performance.now();
    // Recovered: a write succeeds again, through the same process and pools.
    let recoveredMs = -1;
    for (let i = 0; i < 100 && recoveredMs < 0; i++) {
      if (outcomes.some((o) => o.phase === 'after' && o.status === 201)) recoveredMs = performance.now() - resumedAt;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    running = false;
    await load;

    expect(outcomes.filter((o) => o.phase === 'before' && o.status === 201).length).toBeGreaterThan(5);
    const during = outcomes.filter((o) => o.phase === 'outage');
    expect(during.length).toBeGreaterThan(0);
    for (const o of during) {
      // Every request either made it before the shutdown or failed with 503 quickly.
      expect([201, 503], JSON.stringify(o)).toContain(o.status);
      if (o.status === 503) {
        expect(o.retryAfter).toBe('2');
        expect(o.ms).toBeLessThan(3000);
      }
    }
    expect(outcomes.some((o) => o.status >= 500 && o.status !== 503)).toBe(false);
    expect(recoveredMs).toBeGreaterThanOrEqual(0);

    // Every project has its audit row and every project.create row its project; the chain verifies.
    const [counts] = await db.admin.withTenant(orgId, (tx) =>
      tx.execute<{ projects: number; audited: number; orphans: number }>(sql`
        select (select count(*)::int from projects) as projects,
               (select count(*)::int from audit_log where action = 'project.create') as audited,
               (select count(*)::int from audit_log a where a.action = 'project.create' and not exists (select 1 from projects p where p.id::text = a.target_id)) as orphans`),
    );
    expect(counts!.projects).toBe(counts!.audited);
    expect(counts!.orphans).toBe(0);
    const verify = await fetch(`${server.url}/v1/audit-log/verify`, { headers });
    expect((await verify.json()).ok).toBe(true);
  });
});
