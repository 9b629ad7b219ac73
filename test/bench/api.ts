import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createRoute, z } from '@hono/zod-openapi';
import { selectFunctions } from '../../functions/index.ts';
import { createFunctionApp } from '../../middleware/function-app.ts';
import { hashApiKey } from '../../auth/api-keys.ts';
import type postgres from 'postgres';
import { connect } from '../../db/connection.ts';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { startTestServer } from '../server.ts';
import { createTenant } from '../tenants.ts';
import { load, type LoadResult } from './load.ts';

/**
 * Issue 5's API figure: authenticated GET /v1/projects (50 rows) through the
 * whole chain versus a bare Hono + postgres.js route returning the same rows
 * without authentication or tenancy, in the same process and run.
 *
 * Two more routes split the gap between them: the same rows read by raw
 * postgres.js inside the tenant transaction the chain makes (BEGIN, the API-key
 * entry, the select, COMMIT), once as the chain sends it (three round trips)
 * and once with all four statements in one write (the least any transaction
 * per request can cost). Node CPU per request is this process's CPU time
 * (server and bare routes run here, the load generator does not) over the
 * requests served: steadier than throughput on a shared two-core machine.
 *
 * One more splits the chain itself: the whole chain (authentication, the
 * tenant transaction, every middleware) around a handler that queries nothing
 * and answers the same 50 rows from memory. What /v1/projects costs above it
 * is its one query: a round trip, the rows, and drizzle.
 */
export async function benchApi(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  // Mounted for this benchmark only: the chain around a handler that sends no statement.
  const chainOnly = createFunctionApp('bench');
  let pageInMemory: unknown[] = [];
  chainOnly.openapi(
    createRoute({ method: 'get', path: '/bench/chain-only', responses: { 200: { description: 'The 50 projects, from memory.', content: { 'application/json': { schema: z.object({}) } } } } }),
    (c) => c.json({ data: pageInMemory, nextCursor: null }, 200),
  );
  const server = await startTestServer(db, { functions: [...selectFunctions(undefined), chainOnly] });
  // The baseline reads as the superuser: no role checks, no RLS, one statement.
  const bareSql = connect(db.superuserUrl, { ca: db.ca, max: 10 });
  // The transaction floors read as the request role, under RLS, as the chain does.
  const appSql = connect(db.appUrl, { ca: db.ca, max: 10 });
  const bare = new Hono();
  let bareServer: ReturnType<typeof serve> | undefined;
  try {
    const tenant = await createTenant(db, server, 'Bench');
    const keyHash = hashApiKey(tenant.key);
    for (let i = 0; i < 50; i++) await tenant.owner.request('POST', '/v1/projects', { name: `project ${i}` });
    pageInMemory = (await tenant.owner.request('GET', '/v1/projects?limit=50')).body.data;
    const select = (s: postgres.ReservedSql) => s`select id, name, description, status, created_at as "createdAt", updated_at as "updatedAt"
                                  from projects order by created_at desc, id desc limit 50`;
    const enter = (s: postgres.ReservedSql) => s`select org_id, key_id from kommit_enter_tenant_with_key(${keyHash})`;
    bare.get('/bare/projects', async (c) =>
      c.json({
        data: await bareSql`select id, name, description, status, created_at as "createdAt", updated_at as "updatedAt"
                            from projects where org_id = ${tenant.orgId} order by created_at desc, id desc limit 50`,
      }),
    );
    bare.get('/transaction/projects', async (c) => {
      const reserved = await appSql.reserve();
      try {
        // BEGIN goes out with the entry, as the chain's pipelined begin sends them.
        const [, [key]] = await Promise.all([reserved`begin`.execute(), enter(reserved).execute()]);
        if (!key) throw new Error('the benchmark key did not resolve');
        const data = await select(reserved);
        await reserved`commit`;
        return c.json({ data });
      } finally {
        reserved.release();
      }
    });
    bare.get('/two-writes/projects', async (c) => {
      const reserved = await appSql.reserve();
      try {
        // The select leaves with BEGIN and the entry; COMMIT waits for its answer.
        const [, [key], data] = await Promise.all([reserved`begin`.execute(), enter(reserved).execute(), select(reserved).execute()]);
        if (!key) throw new Error('the benchmark key did not resolve');
        await reserved`commit`;
        return c.json({ data });
      } finally {
        reserved.release();
      }
    });
    bare.get('/one-write/projects', async (c) => {
      const reserved = await appSql.reserve();
      try {
        // execute() hands each to the connection now, so all four leave in one write.
        const [, [key], data] = await Promise.all([reserved`begin`.execute(), enter(reserved).execute(), select(reserved).execute(), reserved`commit`.execute()]);
        if (!key) throw new Error('the benchmark key did not resolve');
        return c.json({ data });
      } finally {
        reserved.release();
      }
    });
    bareServer = await new Promise((resolve) => {
      const s = serve({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const bareUrl = `http://127.0.0.1:${(bareServer!.address() as AddressInfo).port}`;

    const measure = async (label: string, url: string, headers: Record<string, string> = {}) => {
      process.stderr.write(`bench api: ${label}, ${options.seconds}s\n`);
      const before = process.cpuUsage();
      const result = await load(url, { seconds: options.seconds, headers });
      const cpu = process.cpuUsage(before);
      const served = result.requestsPerSecond * options.seconds;
      return { ...result, cpuMicros: served ? (cpu.user + cpu.system) / served : NaN };
    };
    const baseline = await measure('bare route', `${bareUrl}/bare/projects`);
    const transaction = await measure('raw tenant transaction', `${bareUrl}/transaction/projects`);
    const twoWrites = await measure('raw tenant transaction, two writes', `${bareUrl}/two-writes/projects`);
    const oneWrite = await measure('raw tenant transaction, one write', `${bareUrl}/one-write/projects`);
    const chainAlone = await measure('the chain around a handler that queries nothing', `${server.url}/bench/chain-only`, { authorization: `Bearer ${tenant.key}` });
    const full = await measure('GET /v1/projects?limit=50 with an API key', `${server.url}/v1/projects?limit=50`, { authorization: `Bearer ${tenant.key}` });

    const row = (label: string, r: LoadResult & { cpuMicros: number }) =>
      `| ${label} | ${r.requestsPerSecond.toFixed(0)} | ${(r.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x | ${r.cpuMicros.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} |`;
    console.log('\n## GET 50 projects (16 connections, same process, same run)\n');
    console.log('| route | requests/s | vs bare | Node CPU µs/request | p50 ms | p99 ms | errors |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    console.log(row('bare Hono + postgres.js', baseline));
    console.log(row('raw postgres.js, tenant transaction as the chain sends it', transaction));
    console.log(row('raw postgres.js, tenant transaction in two writes (select sent with the entry)', twoWrites));
    console.log(row('raw postgres.js, tenant transaction in one write', oneWrite));
    console.log(row('the whole chain around a handler that queries nothing (the 50 rows from memory)', chainAlone));
    console.log(row('/v1/projects (API key, RLS, whole chain)', full));
    console.log(`\nratio ${(full.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}x (goal >= 0.8x)\n`);
  } finally {
    await new Promise<void>((resolve) => (bareServer ? bareServer.close(() => resolve()) : resolve()));
    await Promise.all([bareSql.end(), appSql.end()]);
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
