import { sql } from 'drizzle-orm';
import pino from 'pino';
import { LocalHashEmbedder } from '../../db/search/embedder.ts';
import { runJobsOnce } from '../../db/jobs/worker.ts';
import { taskRegistry } from '../../functions/jobs.ts';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import type { TestDatabase } from '../database.ts';
import { startTestServer } from '../server.ts';
import { createTenant } from '../tenants.ts';
import { bulkChain } from './audit.ts';
import { load, type LoadResult } from './load.ts';

/** Rows per table for the organization to delete: about 1,000,000 in all. */
const SHAPE = { decisionEvents: 300_000, chunks: 200_000, transcripts: 20_000, messages: 280_000, audit: 200_000 };

async function fillLargeOrganization(db: TestDatabase, orgId: string, projectId: string) {
  const step = async (what: string, statement: ReturnType<typeof sql>) => {
    const started = Date.now();
    await db.admin.withTenant(orgId, (tx) => tx.execute(statement));
    process.stderr.write(`  ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  };
  await step(`${SHAPE.decisionEvents} decision events`, sql`
    insert into decision_events (org_id, project_id, kind, title, rationale, actor_type, actor_id)
    select ${orgId}, ${projectId}, 'progress', 'bulk event ' || i, 'generated for the deletion benchmark', 'user', 'bench'
    from generate_series(1, ${SHAPE.decisionEvents}) as i`);
  await step(`${SHAPE.chunks} search chunks`, sql`
    insert into search_chunks (org_id, source_type, decision_event_id, chunk_no, content, embedding, model)
    select org_id, 'decision_event', id, 0, title, '{0.1,0.2,0.3,0.4}', 'bench' from decision_events
    where org_id = ${orgId} limit ${SHAPE.chunks}`);
  await step(`${SHAPE.transcripts} transcripts`, sql`
    insert into support_transcripts (org_id, channel) select ${orgId}, 'chat' from generate_series(1, ${SHAPE.transcripts})`);
  await step(`${SHAPE.messages} messages`, sql`
    insert into support_messages (org_id, transcript_id, position, role, content)
    select t.org_id, t.id, p, 'visitor', 'message ' || p from support_transcripts t, generate_series(1, ${SHAPE.messages / SHAPE.transcripts}) as p
    where t.org_id = ${orgId}`);
  const started = Date.now();
  await bulkChain(db, orgId, SHAPE.audit, () => {});
  process.stderr.write(`  ${SHAPE.audit} audit rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * Issue 6's figures: how long until a 1,000,000-row organization is
 * unreachable (the DELETE request) and until its last row is gone (the
 * worker's batches), and another organization's GET /v1/projects p99 before
 * and during the removal.
 */
export async function benchOrgDelete(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  const server = await startTestServer(db);
  try {
    const big = await createTenant(db, server, 'Big');
    const other = await createTenant(db, server, 'Other');
    for (let i = 0; i < 50; i++) await other.owner.request('POST', '/v1/projects', { name: `project ${i}` });
    const projectId = (await big.owner.request('POST', '/v1/projects', { name: 'bulk' })).body.id;
    process.stderr.write('bench org-delete: filling the organization to delete\n');
    await fillLargeOrganization(db, big.orgId, projectId);
    const [{ rows } = { rows: 0 }] = await db.admin.withTenant(big.orgId, (tx) =>
      tx.execute<{ rows: number }>(sql`select (select count(*) from decision_events) + (select count(*) from search_chunks) + (select count(*) from support_transcripts)
                                         + (select count(*) from support_messages) + (select count(*) from audit_log) as rows`),
    );
    await db.admin.sql`vacuum analyze`;

    const url = `${server.url}/v1/projects?limit=50`;
    const headers = { authorization: `Bearer ${other.key}` };
    process.stderr.write(`bench org-delete: other organization's GET /v1/projects, ${options.seconds}s before\n`);
    const before = await load(url, { seconds: options.seconds, headers, connections: 8 });

    const [org] = await db.admin.withTenant(big.orgId, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations`));
    let started = performance.now();
    const response = await big.owner.request('DELETE', `/v1/organizations/${big.orgId}`, { confirm: org!.slug });
    const inaccessibleMs = performance.now() - started;
    if (response.status !== 202) throw new Error(`delete answered ${response.status}: ${response.text}`);

    process.stderr.write('bench org-delete: removing rows in the worker while the other organization keeps reading\n');
    started = performance.now();
    let removedMs = 0;
    const removal = runJobsOnce({ adminUrl: db.adminUrl, ca: db.ca, tasks: taskRegistry, embedder: new LocalHashEmbedder(), logger: pino({ level: 'silent' }) }).then(
      () => (removedMs = performance.now() - started),
    );
    const during: LoadResult[] = [];
    while (!removedMs) during.push(await load(url, { seconds: 2, headers, connections: 8 }));
    await removal;
    const [left] = await db.admin.withTenant(big.orgId, (tx) => tx.execute<{ n: number }>(sql`select (select count(*) from decision_events) + (select count(*) from audit_log) as n`));

    const worst = during.reduce((a, b) => (b.p99 > a.p99 ? b : a));
    const duringRps = during.reduce((sum, r) => sum + r.requestsPerSecond, 0) / during.length;
    console.log(`\n## Hard delete of an organization with ${Number(rows).toLocaleString('en')} rows\n`);
    console.log('| measure | value |');
    console.log('| --- | --- |');
    console.log(`| unreachable after (DELETE request, first transaction) | ${inaccessibleMs.toFixed(0)} ms |`);
    console.log(`| all rows removed after (worker, batches of 5,000) | ${(removedMs / 1000).toFixed(1)} s (${Math.round(Number(rows) / (removedMs / 1000)).toLocaleString('en')} rows/s), ${left!.n} left |`);
    console.log(`| other org GET /v1/projects before: req/s, p50, p99 | ${before.requestsPerSecond.toFixed(0)}, ${before.p50} ms, ${before.p99} ms |`);
    console.log(`| during (${during.length} windows of 2 s): mean req/s, worst p99 | ${duringRps.toFixed(0)}, ${worst.p99} ms |`);
    console.log(`| errors during | ${during.reduce((sum, r) => sum + r.non2xx + r.errors, 0)} |`);
    console.log(`\np99 during / before: ${(worst.p99 / Math.max(1, before.p99)).toFixed(2)}x\n`);
  } finally {
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
