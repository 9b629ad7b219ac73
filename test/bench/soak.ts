import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { superviseWorkerProcess } from '../../db/jobs/process.ts';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { startTestServer } from '../server.ts';
import { createTenant, type TestTenant } from '../tenants.ts';

/**
 * Issue 11's soak: mixed traffic from three organizations for `seconds`
 * (default 600) with the worker running, Postgres stopped for five seconds in
 * the middle. Reports requests served, errors by kind, recovery time, and an
 * isolation check over everything written.
 */
export async function benchSoak(options: { seconds: number }) {
  const seconds = options.seconds === 10 ? 600 : options.seconds; // the shared default is 10 s; a soak means ten minutes
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  const server = await startTestServer(db);
  // The worker as deployed: its own process, restarted when it dies.
  const caFile = path.join(await mkdtemp(path.join(tmpdir(), 'kommit-soak-')), 'ca.pem');
  await writeFile(caFile, db.ca);
  const worker = superviseWorkerProcess({
    entry: fileURLToPath(new URL('../../worker.ts', import.meta.url)),
    env: { PATH: process.env.PATH, DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PGSSLROOTCERT: caFile, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '2' },
    logger: pino({ level: 'warn' }),
  });
  const statuses = new Map<string, number>();
  let running = true;
  let resumedAt = 0;
  let recoveredAfterMs = -1;
  try {
    const tenants: (TestTenant & { project: string; hook: { id: string; secret: string } })[] = [];
    for (const name of ['Alpha', 'Beta', 'Gamma']) {
      const tenant = await createTenant(db, server, name);
      const project = (await tenant.owner.request('POST', '/v1/projects', { name: `${name}-base` })).body.id;
      const hook = (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId: project, target: 'decision_event' })).body;
      tenants.push({ ...tenant, project, hook });
    }
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
    const act = async (tenant: (typeof tenants)[number], i: number) => {
      const tag = `${tenant.orgId.slice(0, 8)}-${i}`;
      const pick = i % 5;
      const at = new Date();
      const response =
        pick === 0
          ? await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name: `soak ${tag}` }) })
          : pick === 1
            ? await fetch(`${server.url}/v1/decision-events`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ projectId: tenant.project, kind: 'learning', title: `soak ${tag}` }) })
            : pick === 2
              ? await fetch(`${server.url}/hooks/${tenant.hook.id}`, {
                  method: 'POST',
                  headers: { 'webhook-id': tag, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(tenant.hook.secret).sign(tag, at, JSON.stringify({ title: `hook ${tag}` })) },
                  body: JSON.stringify({ title: `hook ${tag}` }),
                })
              : pick === 3
                ? await fetch(`${server.url}/v1/search?q=soak`, { headers: tenant.headers })
                : await fetch(`${server.url}/v1/projects?limit=50`, { headers: tenant.headers });
      await response.arrayBuffer();
      count(String(response.status));
      if (resumedAt && recoveredAfterMs < 0 && response.ok) recoveredAfterMs = performance.now() - resumedAt;
      if (response.status === 503) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    const load = Promise.all(
      Array.from({ length: 12 }, async (_, client) => {
        for (let i = 0; running; i++) {
          try {
            await act(tenants[client % 3]!, client * 1_000_000 + i);
          } catch (error) {
            count(`client error: ${(error as Error).message}`);
          }
        }
      }),
    );
    process.stderr.write(`bench soak: ${seconds}s of mixed traffic, Postgres stopped for 5 s at the half\n`);
    await new Promise((resolve) => setTimeout(resolve, (seconds / 2) * 1000));
    await cluster.pause();
    const outageStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await cluster.resume();
    resumedAt = performance.now();
    process.stderr.write(`bench soak: Postgres back after ${((resumedAt - outageStarted) / 1000).toFixed(1)} s\n`);
    await new Promise((resolve) => setTimeout(resolve, (seconds / 2) * 1000));
    running = false;
    await load;
    // Let the worker drain what arrived last.
    await new Promise((resolve) => setTimeout(resolve, 5000));

    // Isolation over everything written: every row an organization sees carries its own tag.
    let crossTenant = 0;
    let checked = 0;
    for (const tenant of tenants) {
      const own = tenant.orgId.slice(0, 8);
      for (const path of ['/v1/projects', '/v1/decision-events']) {
        let cursor: string | null = null;
        do {
          const page = (await (await fetch(`${server.url}${path}?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { headers: tenant.headers })).json()) as {
            data: { name?: string; title?: string }[];
            nextCursor: string | null;
          };
          for (const row of page.data) {
            const label = row.name ?? row.title ?? '';
            checked++;
            if (/^(soak|hook) /.test(label) && !label.includes(own)) crossTenant++;
          }
          cursor = page.nextCursor;
        } while (cursor);
      }
    }
    const served = [...statuses].filter(([k]) => /^[23]/.test(k)).reduce((sum, [, n]) => sum + n, 0);
    console.log(`\n## Soak: ${seconds} s, 3 organizations, 12 clients, Postgres stopped for 5 s at the half\n`);
    console.log('| measure | value |');
    console.log('| --- | --- |');
    console.log(`| requests answered 2xx/3xx | ${served} (${(served / seconds).toFixed(0)}/s) |`);
    console.log(`| answers by status | ${JSON.stringify(Object.fromEntries(statuses))} |`);
    console.log(`| recovery after Postgres was back | ${recoveredAfterMs.toFixed(0)} ms |`);
    console.log(`| rows checked for isolation | ${checked}, cross-tenant: ${crossTenant} |`);
    console.log('');
  } finally {
    running = false;
    await worker.stop();
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
