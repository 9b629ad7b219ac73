import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { connect } from '../../db/connection.ts';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { startTestServer } from '../server.ts';
import { createTenant } from '../tenants.ts';
import { load } from './load.ts';

/**
 * Issue 5's API figure: authenticated GET /v1/projects (50 rows) through the
 * whole chain versus a bare Hono + postgres.js route returning the same rows
 * without authentication or tenancy, in the same process and run.
 */
export async function benchApi(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  const server = await startTestServer(db);
  // The baseline reads as the superuser: no role checks, no RLS, one statement.
  const bareSql = connect(db.superuserUrl, { ca: db.ca, max: 10 });
  const bare = new Hono();
  let bareServer: ReturnType<typeof serve> | undefined;
  try {
    const tenant = await createTenant(db, server, 'Bench');
    for (let i = 0; i < 50; i++) await tenant.owner.request('POST', '/v1/projects', { name: `project ${i}` });
    bare.get('/bare/projects', async (c) =>
      c.json({
        data: await bareSql`select id, name, description, status, created_at as "createdAt", updated_at as "updatedAt"
                            from projects where org_id = ${tenant.orgId} order by created_at desc, id desc limit 50`,
      }),
    );
    bareServer = await new Promise((resolve) => {
      const s = serve({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const barePort = (bareServer!.address() as AddressInfo).port;

    process.stderr.write(`bench api: bare route, ${options.seconds}s\n`);
    const baseline = await load(`http://127.0.0.1:${barePort}/bare/projects`, { seconds: options.seconds });
    process.stderr.write(`bench api: GET /v1/projects?limit=50 with an API key, ${options.seconds}s\n`);
    const full = await load(`${server.url}/v1/projects?limit=50`, { seconds: options.seconds, headers: { authorization: `Bearer ${tenant.key}` } });
    console.log('\n## GET 50 projects (16 connections, same process, same run)\n');
    console.log('| route | requests/s | p50 ms | p99 ms | errors |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(`| bare Hono + postgres.js | ${baseline.requestsPerSecond.toFixed(0)} | ${baseline.p50} | ${baseline.p99} | ${baseline.non2xx + baseline.errors} |`);
    console.log(`| /v1/projects (API key, RLS, whole chain) | ${full.requestsPerSecond.toFixed(0)} | ${full.p50} | ${full.p99} | ${full.non2xx + full.errors} |`);
    console.log(`\nratio ${(full.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x (goal >= 0.8x)\n`);
  } finally {
    await new Promise<void>((resolve) => (bareServer ? bareServer.close(() => resolve()) : resolve()));
    await bareSql.end();
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
