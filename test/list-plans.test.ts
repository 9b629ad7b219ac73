import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTransaction } from '../db/audit/read.ts';
import { encodeCursor } from '../middleware/pagination.ts';
import { createDatabase, type Database } from '../db/tenant.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestServer, type PlatformTestServer } from './server.ts';
import { createTenant, type TestTenant } from './tenants.ts';

/**
 * Newest-first lists read their page from an index in order, never by sorting
 * every row the filters match: each list route is called, and each statement
 * it sent with an ORDER BY is planned again, with its own parameters, as
 * kommit_app inside the organization. The test tables are small enough that
 * reading them whole and sorting would be cheapest, so sorts and whole-table
 * reads are priced out; a Sort left in the plan means no index serves the
 * order (e.g. a plain DESC, which is NULLS FIRST, against an index built
 * DESC NULLS LAST).
 */
let db: TestDatabase;
let database: Database;
let server: PlatformTestServer;
let acme: TestTenant;
let recording: { query: string; parameters: unknown[] }[] | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  database = createDatabase(db.appUrl, { ca: db.ca, max: 5, onQuery: (query, parameters) => recording?.push({ query, parameters }) });
  server = await startTestServer(db, { database });
  acme = await createTenant(db, server, 'Acme');
});
afterAll(async () => {
  await server?.close();
  await database?.close();
  await db?.close();
});

/** What the route's statements with an ORDER BY plan to, as it sent them. */
async function plansOf(path: string) {
  recording = [];
  const response = await acme.owner.request('GET', path);
  const sent = recording;
  recording = undefined;
  expect(response.status, `${path}: ${response.text}`).toBe(200);
  const ordered = sent.filter(({ query }) => /^\s*select\b/i.test(query) && /\border by\b/i.test(query));
  return Promise.all(
    ordered.map(({ query, parameters }) =>
      db.app.withTenant(acme.orgId, async (tx) => {
        const client = postgresTransaction(tx);
        for (const setting of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort']) await client`select set_config(${setting}, 'off', true)`;
        const rows = await client.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query}`, parameters as never[]);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      }),
    ),
  );
}

describe('newest-first lists', () => {
  it('read each page from an index in order, without sorting the rows they match', async () => {
    const post = async (path: string, body: Record<string, unknown>) => {
      const response = await acme.owner.request('POST', path, body);
      expect(response.status, `${path}: ${response.text}`).toBe(201);
      return response.body.id as string;
    };
    const project = await post('/v1/projects', { name: 'Planned' });
    const workflow = await post(`/v1/projects/${project}/workflows`, { name: 'Review', steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }] });
    expect((await acme.owner.request('PATCH', `/v1/workflows/${workflow}`, { status: 'active' })).status).toBe(200);
    const run = await post(`/v1/workflows/${workflow}/runs`, {});
    await post('/v1/decision-events', { projectId: project, kind: 'decision', title: 'Planned' });
    await post('/v1/support-transcripts', { visitorRef: 'visitor-1', messages: [{ role: 'visitor', content: 'Hello?' }] });
    const endpoint = await post('/v1/webhook-endpoints', { name: 'Deals', projectId: project, target: 'decision_event' });
    await post('/v1/helpdesk/articles', { title: 'Planned', body: 'A page.', published: true });

    const cursor = encodeCursor({ createdAt: '2026-11-20T10:00:00.123456Z', id: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' });
    const byVisitor = { index: 'support_transcripts_org_visitor_created_idx', cond: /Index Cond: \(\(org_id = .*\) AND \(visitor_ref = / };
    const allTranscripts = { index: 'support_transcripts_org_created_idx' };
    // With the index a list must be read from, where one was made for it (and then no sort at all).
    const lists: [string, { index: string; cond?: RegExp }?][] = [
      ['/v1/projects'],
      [`/v1/projects/${project}/workflows`],
      [`/v1/workflows/${workflow}/runs`],
      ['/v1/decision-events'],
      [`/v1/decision-events?projectId=${project}`],
      [`/v1/decision-events?workflowRunId=${run}`],
      ['/v1/support-transcripts', allTranscripts],
      [`/v1/support-transcripts?channel=widget&cursor=${cursor}`, allTranscripts],
      ['/v1/support-transcripts?visitorRef=visitor-1', byVisitor],
      [`/v1/support-transcripts?visitorRef=visitor-1&channel=chat&cursor=${cursor}`, byVisitor],
      ['/v1/webhook-endpoints'],
      [`/v1/webhook-endpoints/${endpoint}/deliveries`],
      ['/v1/helpdesk/articles'],
      ['/v1/controls'],
    ];
    for (const [path, expected] of lists) {
      const plans = await plansOf(path);
      expect(plans.length, `${path} sent no ordered select`).toBeGreaterThan(0);
      // A plain Sort node; an Incremental Sort (the index gives created_at's order, id breaks ties) reads no more than the page.
      for (const plan of plans) expect(plan, path).not.toMatch(/(^|->\s+)Sort\s+\(/m);
      if (!expected) continue;
      const [plan] = plans;
      expect(plans, path).toHaveLength(1);
      expect(plan, path).toMatch(new RegExp(`Index Scan using ${expected.index}\\b`));
      if (expected.cond) expect(plan, path).toMatch(expected.cond);
      expect(plan, path).not.toMatch(/Sort/);
    }
  });
});
