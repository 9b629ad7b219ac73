import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  for (let i = 0; i < 200; i++) {
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

  it('refuses to start on a connection that is not beheerder, in one line', async () => {
    const worker = startWorker(env.db.appUrl);
    expect(await worker.exited).toBe(1);
    const { stderr } = worker.output();
    expect(stderr.trim().split("\n"), stderr).toHaveLength(1);
    expect(stderr).toContain('worker connected as role "kommit_app", expected "beheerder"');
  });
});
