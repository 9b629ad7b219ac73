import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './ports.ts';
import { spawnEntry } from './processes.ts';
import { createTenant, type TestTenant } from './tenants.ts';
import { useTestServer } from './use-server.ts';

// The real worker entry, as `npm run worker` runs it against an external database.
const env = useTestServer();
let dir: string;
let caFile: string;
let acme: TestTenant;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-worker-'));
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, env.db.ca);
  acme = await createTenant(env.db, env.server, 'Acme');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function startWorker(adminUrl: string, extra: Record<string, string> = {}) {
  return spawnEntry('worker.ts', { PGSSLROOTCERT: caFile, DATABASE_URL: env.db.appUrl, ADMIN_DATABASE_URL: adminUrl, ...extra });
}

async function until(condition: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('worker.ts', () => {
  it('picks up jobs as they are queued, and stops cleanly on SIGTERM', async () => {
    const metricsPort = await freePort();
    const worker = startWorker(env.db.adminUrl, { METRICS_PORT: String(metricsPort), METRICS_TOKEN: 'worker-scrape' });
    await until(async () => worker.output().stdout.includes('worker running') || worker.child.exitCode !== null, 'the worker to start');
    expect(worker.output().stdout, worker.output().stderr).toContain('worker running');
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'p' })).body.id;
    const id = (await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Ship the quokka release' })).body.id;
    await until(async () => (await acme.owner.request('GET', '/v1/search?q=quokka')).body.data[0]?.source.id === id, 'the event to be indexed');
    // The relay runs on the worker's own timer: a webhook delivery gets processed without anyone asking.
    const hook = (await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId, target: 'raw_event' })).body;
    const at = new Date();
    const delivered = await fetch(`${env.server.url}/hooks/${hook.id}`, {
      method: 'POST',
      headers: { 'webhook-id': 'w1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(hook.secret).sign('w1', at, '{}') },
      body: '{}',
    });
    expect(delivered.status).toBe(202);
    await until(async () => (await acme.owner.request('GET', `/v1/webhook-endpoints/${hook.id}/deliveries`)).body.data[0]?.status === 'processed', 'the delivery to be processed');
    // The queue's depth, for Prometheus, behind its token.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: 'Bearer worker-scrape' } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/# TYPE kommit_jobs gauge/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('resumes an organization delete after the worker was killed with SIGKILL mid-way', { timeout: 120_000 }, async () => {
    const doomed = await createTenant(env.db, env.server, 'Killed');
    const projectId = (await doomed.owner.request('POST', '/v1/projects', { name: 'bulk' })).body.id;
    await env.db.admin.withTenant(doomed.orgId, (tx) =>
      tx.execute(sql`insert into decision_events (org_id, project_id, kind, title, actor_type)
                     select ${doomed.orgId}, ${projectId}, 'progress', 'bulk ' || i, 'system' from generate_series(1, 150000) as i`),
    );
    const [org] = await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations`));
    expect((await doomed.owner.request('DELETE', `/v1/organizations/${doomed.orgId}`, { confirm: org!.slug })).status).toBe(202);
    const progress = async () =>
      (await env.db.admin.sql<{ rows_deleted: number | null; completed_at: string | null }[]>`
        select rows_deleted::int, completed_at from organization_deletions where deleted_organization_id = ${doomed.orgId}`)[0]!;

    const first = startWorker(env.db.adminUrl);
    await until(async () => ((await progress()).rows_deleted ?? 0) > 0 || first.child.exitCode !== null, 'the delete to start');
    first.child.kill('SIGKILL');
    await first.exited;
    const halfway = await progress();
    expect(halfway.completed_at).toBeNull();
    expect(halfway.rows_deleted).toBeLessThan(150_000);

    // A new worker frees the dead one's job at start and finishes it.
    const second = startWorker(env.db.adminUrl);
    try {
      await until(async () => (await progress()).completed_at !== null, 'the delete to finish');
      const [left] = await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from decision_events`));
      expect(left!.n).toBe(0);
      expect(second.output().stdout).toContain('freed the jobs of workers that are gone');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('killed with SIGKILL while processing webhook deliveries, leaves each delivery turned into exactly one decision event', { timeout: 120_000 }, async () => {
    const tenant = await createTenant(env.db, env.server, 'Hooked');
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'crm' })).body.id;
    const hook = (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'deals', projectId, target: 'decision_event' })).body;
    const total = 300;
    for (let i = 0; i < total; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, j) => {
          const id = `kill-${i + j}`;
          const body = JSON.stringify({ title: `Deal ${id}` });
          const at = new Date();
          return fetch(`${env.server.url}/hooks/${hook.id}`, {
            method: 'POST',
            headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(hook.secret).sign(id, at, body) },
            body,
          }).then((r) => expect(r.status).toBe(202));
        }),
      );
    }
    const processed = async () => {
      const [row] = await env.db.admin.withTenant(tenant.orgId, (tx) =>
        tx.execute<{ done: number; events: number; distinct_titles: number }>(sql`
          select (select count(*)::int from webhook_deliveries where status = 'processed') as done,
                 (select count(*)::int from decision_events where title like 'Deal kill-%') as events,
                 (select count(distinct title)::int from decision_events where title like 'Deal kill-%') as distinct_titles`),
      );
      return row!;
    };
    const first = startWorker(env.db.adminUrl);
    await until(async () => (await processed()).done > 0 || first.child.exitCode !== null, 'processing to start');
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await processed()).done).toBeLessThan(total);

    const second = startWorker(env.db.adminUrl);
    try {
      await until(async () => (await processed()).done === total, 'every delivery to be processed');
      const after = await processed();
      expect(after.events).toBe(total);
      expect(after.distinct_titles).toBe(total);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('refuses to start on a connection that is not beheerder, in one line', async () => {
    const worker = startWorker(env.db.appUrl);
    expect(await worker.exited).toBe(1);
    const { stderr } = worker.output();
    expect(stderr.trim().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toContain('worker connected as role "kommit_app", expected "beheerder"');
  });
});
