import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { startTestServer } from '../server.ts';
import { createTenant } from '../tenants.ts';

const run = promisify(execFile);

/**
 * Issue 7's figure: verified, durably stored deliveries per second from 32
 * concurrent senders (each answered 202 only after its transaction committed
 * the delivery, the outbox row the worker's relay queues). The worker is not
 * running meanwhile: this measures intake.
 */
export async function benchWebhooks(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  const server = await startTestServer(db, { config: { webhooks: { maxBodyBytes: 256 * 1024, perEndpointPerMinute: 1_000_000, failedPerAddressPerMinute: 60 } } });
  try {
    const tenant = await createTenant(db, server, 'Bench');
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'CRM' })).body.id;
    const endpoint = (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'Deals', projectId, target: 'decision_event' })).body;
    process.stderr.write(`bench webhooks: 32 senders, ${options.seconds}s\n`);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', new URL('./webhook-senders.ts', import.meta.url).pathname, JSON.stringify({ url: `${server.url}/hooks/${endpoint.id}`, secret: endpoint.secret, senders: 32, seconds: options.seconds })],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as { stored: number; perSecond: number; statuses: Record<string, number>; p50: number; p99: number };
    const [count] = await db.admin.withTenant(tenant.orgId, (tx) => tx.execute<{ deliveries: number; waiting: number }>(sql`
      select (select count(*)::int from webhook_deliveries) as deliveries,
             (select count(*)::int from webhook_deliveries where status = 'received') as waiting`));
    console.log('\n## Inbound webhooks: verified and durably stored deliveries (32 senders)\n');
    console.log('| deliveries/s | p50 ms | p99 ms | answers | rows stored | waiting for the relay |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(`| ${result.perSecond.toFixed(0)} | ${result.p50} | ${result.p99} | ${JSON.stringify(result.statuses)} | ${count!.deliveries} | ${count!.waiting} |`);
    console.log(`\n${result.perSecond.toFixed(0)}/s (goal >= 1,000/s)\n`);
  } finally {
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
