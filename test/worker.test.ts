import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goneWorkers } from '../db/jobs/liveness.ts';
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

/**
 * Holds a project's row FOR UPDATE in a transaction of the test's own until
 * released. What a worker does next to that project waits behind it (a
 * decision event's foreign-key check, the project's own delete), so a worker
 * is killed at a known point in the middle of its jobs, not wherever a poll
 * happens to catch it.
 */
async function lockProject(orgId: string, projectId: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: (pid: number) => void;
  const holderPid = new Promise<number>((resolve) => (locked = resolve));
  const transaction = env.db.admin.withTenant(orgId, async (tx) => {
    // It waits on the test, not on a client gone idle.
    await tx.execute(sql`set local idle_in_transaction_session_timeout = 0`);
    const [row] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid from projects where id = ${projectId} for update`);
    locked(row!.pid);
    await released;
  });
  const pid = await Promise.race([holderPid, transaction.then(() => Promise.reject(new Error('the lock was let go early')))]);
  return {
    /** Whether a session of this database is waiting for the lock. */
    waitedOn: async () =>
      (await env.db.admin.sql<{ waiting: boolean }[]>`
        select exists (select 1 from pg_stat_activity where datname = current_database() and ${pid}::int = any(pg_blocking_pids(pid))) as waiting`)[0]!.waiting,
    release: async () => {
      release();
      await transaction;
    },
  };
}

/**
 * Starts a worker, lets it run into the project's row held by the test, and
 * kills it with SIGKILL there: with jobs in hand, inside their transactions.
 * Returns once Postgres has ended the dead worker's sessions, which frees its
 * liveness lock: only then is a new worker's start-up sweep sure to see it as
 * gone (otherwise the next sweep comes a minute later).
 */
async function killWorkerWaitingOn(orgId: string, projectId: string) {
  const project = await lockProject(orgId, projectId);
  const worker = startWorker(env.db.adminUrl);
  try {
    await until(async () => (await project.waitedOn()) || worker.child.exitCode !== null, 'the worker to wait on the project');
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBeNull();
  } finally {
    await project.release();
  }
  const lockers = await env.db.admin.sql<{ id: string }[]>`select distinct locked_by as id from graphile_worker.jobs where locked_by is not null`;
  expect(lockers).toHaveLength(1);
  await until(async () => (await goneWorkers(env.db.admin, [lockers[0]!.id])).length === 1, 'the killed worker to be gone');
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
                     select ${doomed.orgId}, ${projectId}, 'progress', 'bulk ' || i, 'system' from generate_series(1, 20000) as i`),
    );
    const [org] = await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations`));
    expect((await doomed.owner.request('DELETE', `/v1/organizations/${doomed.orgId}`, { confirm: org!.slug })).status).toBe(202);
    const progress = async () =>
      (await env.db.admin.sql<{ rows_deleted: number | null; completed_at: string | null }[]>`
        select rows_deleted::int, completed_at from organization_deletions where deleted_organization_id = ${doomed.orgId}`)[0]!;

    // Tables are emptied referencing ones first: the decision events go in
    // batches, then the delete waits on the project's row.
    await killWorkerWaitingOn(doomed.orgId, projectId);
    const halfway = await progress();
    expect(halfway.completed_at).toBeNull();
    expect(halfway.rows_deleted).toBeGreaterThanOrEqual(20_000);

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
    // Each delivery's decision event waits on the project's row (its foreign-key check).
    await killWorkerWaitingOn(tenant.orgId, projectId);
    expect((await processed()).done).toBe(0);

    const second = startWorker(env.db.adminUrl);
    try {
      await until(async () => (await processed()).done === total, 'every delivery to be processed');
      const after = await processed();
      expect(after.events).toBe(total);
      expect(after.distinct_titles).toBe(total);
      expect(second.output().stdout).toContain('freed the jobs of workers that are gone');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('exits when its liveness connection is lost, rather than finish jobs other workers may already be running again', async () => {
    const worker = startWorker(env.db.adminUrl);
    try {
      await until(async () => worker.output().stdout.includes('worker running') || worker.child.exitCode !== null, 'the worker to start');
      const terminated = await env.db.admin.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'kommit-worker-liveness'`;
      expect(terminated).toHaveLength(1);
      expect(await Promise.race([worker.exited, new Promise((resolve) => setTimeout(resolve, 15_000, 'still running'))])).toBe(1);
      expect(worker.output().stdout).toContain('this worker can no longer prove it is alive');
    } finally {
      if (worker.child.exitCode === null) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
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
