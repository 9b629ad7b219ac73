import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { createDatabase } from '../../db/tenant.ts';
import { startTestServer } from '../server.ts';
import { UserAgent } from '../user-agent.ts';
import { load } from './load.ts';

/**
 * Issue 3's figures: Postgres round trips of one authenticated read, and the
 * throughput of GET /v1/projects (50 rows) with a session versus an API key,
 * measured in one run against the same server and data.
 */
export async function benchAuth(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster);
  let queries: string[] | undefined;
  const count = (query: string) => queries?.push(query.replace(/\s+/g, ' ').trim().slice(0, 90));
  const database = createDatabase(db.appUrl, { ca: db.ca, max: 10, onQuery: count });
  const authDatabase = createDatabase(db.authUrl, { ca: db.ca, max: 5, onQuery: count });
  const server = await startTestServer(db, { database, authDatabase });
  try {
    const agent = new UserAgent(server);
    await agent.signUp('bench@example.test');
    await agent.createOrganization('Bench');
    for (let i = 0; i < 50; i++) await agent.request('POST', '/v1/projects', { name: `project ${i}` });
    const key = (await agent.request('POST', '/v1/api-keys', { name: 'bench' })).body.key as string;
    const url = `${server.url}/v1/projects?limit=50`;
    const credentials = { 'api key': { authorization: `Bearer ${key}` }, session: { cookie: agent.cookieHeader() } };

    const roundTrips: Record<string, string[]> = {};
    for (const [name, headers] of Object.entries(credentials)) {
      await fetch(url, { headers }); // warm: prepared statements, pool connections
      queries = [];
      const response = await fetch(url, { headers });
      if (response.status !== 200) throw new Error(`${name}: ${response.status}`);
      roundTrips[name] = queries;
      queries = undefined;
    }

    const results: Record<string, Awaited<ReturnType<typeof load>>> = {};
    for (const [name, headers] of Object.entries(credentials)) {
      process.stderr.write(`bench auth: ${name}, ${options.seconds}s of GET /v1/projects?limit=50 ...\n`);
      results[name] = await load(url, { headers, seconds: options.seconds });
    }

    console.log('\n## Round trips to Postgres for one authenticated GET /v1/projects?limit=50\n');
    for (const [name, list] of Object.entries(roundTrips)) {
      console.log(`${name}: ${list.length} statements`);
      for (const q of list) console.log(`  - ${q}`);
    }
    console.log('\n## Throughput (16 connections, same server, same data)\n');
    console.log('| credential | requests/s | p50 ms | p99 ms | non-2xx |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} |`);
    console.log(`\nsession / api key = ${(results.session!.requestsPerSecond / results['api key']!.requestsPerSecond).toFixed(2)}x`);
  } finally {
    await server.close();
    await Promise.all([database.close(), authDatabase.close()]);
    await db.close();
    await cluster.stop();
  }
}
