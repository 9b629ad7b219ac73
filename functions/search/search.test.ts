import { sql, type SQL } from 'drizzle-orm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalHashEmbedder } from '../../db/search/embedder.ts';
import { embedQuery, hybridSearch, vectorScoring } from '../../db/search/index.ts';
import { createDatabase } from '../../db/tenant.ts';
import { offersPgvector } from '../../test/cluster.ts';
import { startTestServer } from '../../test/server.ts';
import { gatedEmbedder } from '../../test/fake-embeddings.ts';
import { queuedJobs, runJobs } from '../../test/jobs.ts';
import { withSlowInserts } from '../../test/races.ts';
import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { UserAgent, uniqueEmail } from '../../test/user-agent.ts';
import { createApiKey } from '../../db/operators.ts';
import { useTestServer } from '../../test/use-server.ts';
import search from './index.ts';

const env = useTestServer();
const hasPgvector = await offersPgvector(inject('postgres'));
let acme: TestTenant;
let globex: TestTenant;
const ids: Record<string, string> = {};
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
  const acmeProject = (await acme.owner.request('POST', '/v1/projects', { name: 'acme' })).body.id;
  const globexProject = (await globex.owner.request('POST', '/v1/projects', { name: 'globex' })).body.id;
  const decide = async (tenant: TestTenant, projectId: string, key: string, title: string, rationale: string) =>
    (ids[key] = (await tenant.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title, rationale })).body.id);
  await decide(acme, acmeProject, 'residency', 'Keep customer data in the EU', 'Hetzner Falkenstein and Nuremberg data centres satisfy our residency commitments.');
  await decide(acme, acmeProject, 'billing', 'Invoice monthly', 'Customers asked for monthly invoices instead of yearly ones.');
  await decide(globex, globexProject, 'globex', 'Keep customer data in the EU as well', 'Globex also wants residency in the EU.');
  ids.transcript = (
    await acme.owner.request('POST', '/v1/support-transcripts', {
      channel: 'chat',
      messages: [{ role: 'visitor', content: 'Can I export the audit log as CSV?' }, { role: 'agent', content: 'Yes, from the Audit page.' }],
    })
  ).body.id;
  await runJobs(env.db);
});

describe('hybrid search', () => {
  it('finds the organization’s own passages, best match first, and never another organization’s', async () => {
    const hits = (await acme.owner.request('GET', '/v1/search?q=customer%20data%20EU%20residency')).body.data;
    expect(hits[0].source).toEqual({ type: 'decision_event', id: ids.residency });
    expect(hits[0].snippet).toMatch(/residency/i);
    expect(hits.map((h: { source: { id: string } }) => h.source.id)).not.toContain(ids.globex);
    const theirs = (await globex.owner.request('GET', '/v1/search?q=monthly%20invoices')).body.data;
    expect(theirs.map((h: { source: { id: string } }) => h.source.id)).not.toContain(ids.billing);
  });

  it('filters by source type and finds transcripts too', async () => {
    const hits = (await acme.owner.request('GET', '/v1/search?q=audit%20log%20CSV&types=support_transcript')).body.data;
    expect(hits.map((h: { source: { type: string } }) => h.source.type)).toEqual(['support_transcript']);
    expect(hits[0].source.id).toBe(ids.transcript);
  });

  it('indexes through the worker: nothing is searchable before the job runs', async () => {
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'later' })).body.id;
    const id = (await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'learning', title: 'Quarterly zeppelin maintenance' })).body.id;
    const queued = await queuedJobs(env.db);
    expect(queued).toEqual([{ task_identifier: 'search.index', payload: { type: 'decision_event', id, orgId: acme.orgId }, key: `${acme.orgId}/search.index:decision_event:${id}` }]);
    const found = async () => (await acme.owner.request('GET', '/v1/search?q=zeppelin')).body.data.map((h: { source: { id: string } }) => h.source.id);
    expect(await found()).not.toContain(id);
    await runJobs(env.db);
    expect((await found())[0]).toBe(id);
  });

  it('queues nothing for a refused write', async () => {
    const response = await acme.owner.request('POST', '/v1/decision-events', { projectId: ids.globex, kind: 'learning', title: 'Nowhere' });
    expect(response.status).toBe(404);
    expect(await queuedJobs(env.db)).toEqual([]);
  });

  it('drops a deleted transcript from the index with it', async () => {
    await acme.owner.request('DELETE', `/v1/support-transcripts/${ids.transcript}`);
    const hits = (await acme.owner.request('GET', '/v1/search?q=audit%20log%20CSV&types=support_transcript')).body.data;
    expect(hits).toEqual([]);
  });

  it('lets a source be deleted while its passages are being rewritten, one after the other, never deadlock', async () => {
    // A transcript with passages (and a decision event, deleted with its project).
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Short-lived' })).body.id as string;
    const event = (await acme.owner.request('POST', '/v1/decision-events', { projectId: project, kind: 'decision', title: 'Reindexed while deleted' })).body.id as string;
    const transcript = (await acme.owner.request('POST', '/v1/support-transcripts', { channel: 'chat', messages: [{ role: 'visitor', content: 'Reindexed while deleted' }] })).body.id as string;
    await runJobs(env.db);
    const deletions = [
      { type: 'support_transcript', id: transcript, path: `/v1/support-transcripts/${transcript}` },
      { type: 'decision_event', id: event, path: `/v1/projects/${project}` },
    ];
    for (const { type, id, path } of deletions) {
      // Rewriting removes the old passages first, then inserts the new ones.
      await env.db.admin.sql`select graphile_worker.add_job('search.index', ${JSON.stringify({ orgId: acme.orgId, type, id })}::json)`;
      await withSlowInserts(env.db, 'search_chunks', 0.8, async (sleeping) => {
        const jobs = runJobs(env.db);
        await sleeping();
        const deleted = await acme.owner.request('DELETE', path);
        expect(deleted.status, `${type}: ${deleted.text}`).toBe(204);
        await jobs;
      });
    }
    const [left] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ n: number }>(sql`select count(*)::int as n from search_chunks where transcript_id = ${transcript} or decision_event_id = ${event}`),
    );
    expect(left).toEqual({ n: 0 });
  });

  it('leaves out a passage deleted between ranking it and reading it, instead of failing the search', async () => {
    const transcript = (await acme.owner.request('POST', '/v1/support-transcripts', { channel: 'chat', messages: [{ role: 'visitor', content: 'Quokka invoices vanish' }] })).body.id as string;
    await runJobs(env.db);
    const query = await embedQuery(new LocalHashEmbedder(), 'quokka invoices');
    const ranked: string[][] = [];
    const hits = await env.db.app.withTenant(acme.orgId, async (tx) => {
      // After the ranking statements, a concurrent request deletes the transcript (and its passages).
      const racing = new Proxy(tx, {
        get(target, key, receiver) {
          if (key !== 'execute') return Reflect.get(target, key, receiver);
          return async (statement: SQL) => {
            const rows = (await target.execute(statement)) as { id?: string; source_type?: string }[];
            if (rows[0] && !('source_type' in rows[0])) {
              ranked.push(rows.map((r) => r.id!));
              await env.db.admin.withTenant(acme.orgId, (admin) => admin.execute(sql`delete from support_transcripts where id = ${transcript}`));
            }
            return rows;
          };
        },
      });
      return hybridSearch(racing, query, { types: ['support_transcript'], limit: 5, scoring: await vectorScoring(tx) });
    });
    expect(ranked.flat().length).toBeGreaterThan(0);
    expect(hits.map((h) => h.source.id)).not.toContain(transcript);
  });

  it('clears the passages of an article its job finds unpublished, even ones written after the unpublish', async () => {
    const article = (await acme.owner.request('POST', '/v1/helpdesk/articles', { title: 'Walrus care', body: 'Walruses need cold water.', published: true })).body;
    await runJobs(env.db);
    const passages = async () =>
      (await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from search_chunks where article_id = ${article.id}`)))[0]!.n;
    expect(await passages()).toBeGreaterThan(0);
    // What an indexer racing the unpublish leaves: the article a draft, its passages still there, and a job queued.
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute(sql`update helpdesk_articles set published = false where id = ${article.id}`));
    await env.db.admin.sql`select graphile_worker.add_job('search.index', ${JSON.stringify({ orgId: acme.orgId, type: 'helpdesk_article', id: article.id })}::json)`;
    await runJobs(env.db);
    expect(await passages()).toBe(0);
  });

  it('scores vectors with pgvector exactly where the database has the extension', async () => {
    // The bootstrap creates the extension wherever the server offers it.
    const [catalog] = await env.db.admin.sql<{ found: boolean }[]>`select exists (select 1 from pg_extension where extname = 'vector') as found`;
    expect(catalog!.found).toBe(hasPgvector);
    expect(await env.db.app.withTenant(acme.orgId, (tx) => vectorScoring(tx))).toBe(catalog!.found ? 'pgvector' : 'array');
    // CI builds pgvector into the embedded Postgres (db/pgvector/install.sh): there the pgvector path must be the one tested.
    if (process.env.KOMMIT_REQUIRE_PGVECTOR === '1') expect(catalog!.found).toBe(true);
  });

  it.runIf(hasPgvector)('ranks alike with pgvector and with plain SQL, over every chunk and among text matches', async () => {
    // An embedder that is not lexical takes the full vector scan; the local one ranks among text matches.
    const local = new LocalHashEmbedder();
    const semantic = { model: local.model, dimensions: local.dimensions, embed: (texts: string[]) => local.embed(texts) };
    const servers = await Promise.all(
      (['pgvector', 'array'] as const).flatMap((vectorScoring) => [startTestServer(env.db, { vectorScoring }), startTestServer(env.db, { vectorScoring, embedder: semantic })]),
    );
    try {
      for (const q of ['customer data EU residency', 'monthly invoices', 'audit log', 'zeppelin']) {
        const [pgLexical, pgSemantic, arrayLexical, arraySemantic] = await Promise.all(
          servers.map(async (server) => {
            const response = await fetch(`${server.url}/v1/search?q=${encodeURIComponent(q)}`, { headers: { authorization: `Bearer ${acme.key}` } });
            expect(response.status).toBe(200);
            return ((await response.json()) as { data: { source: unknown; ranks: unknown }[] }).data.map((hit) => [hit.source, hit.ranks]);
          }),
        );
        expect(pgSemantic!.length, q).toBeGreaterThan(0);
        expect(pgLexical, q).toEqual(arrayLexical);
        expect(pgSemantic, q).toEqual(arraySemantic);
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it('skips passages of another dimension instead of failing the search', async () => {
    // The same model name at another dimension (a reconfigured remote embedder): pgvector refuses to compare those.
    const [event] = await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ id: string }>(sql`select id from decision_events where org_id = ${acme.orgId} limit 1`));
    await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute(sql`insert into search_chunks (org_id, source_type, decision_event_id, chunk_no, content, embedding, model)
                     values (${acme.orgId}, 'decision_event', ${event!.id}, 99, 'residency in three dimensions', '{1,0,0}'::real[], ${new LocalHashEmbedder().model})`),
    );
    const local = new LocalHashEmbedder();
    const semantic = { model: local.model, dimensions: local.dimensions, embed: (texts: string[]) => local.embed(texts) };
    const server = await startTestServer(env.db, { embedder: semantic });
    try {
      for (const url of [`${env.server.url}/v1/search?q=residency`, `${server.url}/v1/search?q=residency`]) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${acme.key}` } });
        expect(response.status, url).toBe(200);
        const hits = ((await response.json()) as { data: { chunkNo: number; ranks: { vector: number | null } }[] }).data;
        expect(hits.find((hit) => hit.chunkNo === 99)?.ranks.vector ?? null, url).toBeNull();
      }
    } finally {
      await server.close();
    }
  });

  it('holds no database connection while the embedder is slow to answer', async () => {
    // Like a remote embedder that has not answered yet: each question waits on it.
    const gate = gatedEmbedder();
    const database = createDatabase(env.db.appUrl, { ca: env.db.ca, max: 2 });
    const server = await startTestServer(env.db, { embedder: gate.embedder, database });
    try {
      const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${acme.key}` } });
      // More searches than the pool has connections, all waiting on the embedder.
      const searches = [1, 2, 3, 4].map(() => get('/v1/search?q=residency'));
      await expect.poll(gate.waiting, { timeout: 10_000 }).toBe(4);
      expect(database.stats().active).toBe(0);
      // Meanwhile the organization's other requests are served.
      expect((await get('/v1/projects')).status).toBe(200);
      gate.answer();
      for (const response of await Promise.all(searches)) expect(response.status).toBe(200);
    } finally {
      gate.answer();
      await server.close();
      await database.close();
    }
  });

  it('answers 401 when the key is revoked or the session ends while the query is embedded, and 403 when the membership goes', async () => {
    const gate = gatedEmbedder();
    const server = await startTestServer(env.db, { embedder: gate.embedder });
    try {
      const { id: keyId, key } = await createApiKey(env.db.admin, acme.orgId, 'revoked mid-search');
      const byKey = fetch(`${server.url}/v1/search?q=residency`, { headers: { authorization: `Bearer ${key}` } });
      const email = uniqueEmail('mid-search');
      const signedOut = new UserAgent(server);
      await signedOut.signUp(email);
      const { id: orgId } = await signedOut.createOrganization('Mid search');
      const removed = new UserAgent(server);
      await removed.signIn(email);
      expect((await removed.request('POST', '/v1/session/active-organization', { organizationId: orgId })).status).toBe(200);
      const searches = [byKey, signedOut.request('GET', '/v1/search?q=residency'), removed.request('GET', '/v1/search?q=residency')] as const;
      // All three passed the entry check and wait on the embedder; then each caller loses access.
      await expect.poll(gate.waiting, { timeout: 10_000 }).toBe(3);
      expect((await acme.owner.request('DELETE', `/v1/api-keys/${keyId}`)).status).toBeLessThan(300);
      expect((await signedOut.request('POST', '/api/auth/sign-out', {})).status).toBe(200);
      // Another owner first: an organization keeps one (migration 0038).
      const heir = await new UserAgent(server).signUp(uniqueEmail('heir'));
      await env.db.admin.withTenant(orgId, async (tx) => {
        await tx.execute(sql`insert into members (org_id, user_id, role) values (${orgId}, ${heir.id}, 'owner')`);
        await tx.execute(sql`delete from members where org_id = ${orgId} and user_id <> ${heir.id}`);
      });
      gate.answer();
      const [key401, session401, member403] = await Promise.all(searches);
      expect(key401.status).toBe(401);
      expect(key401.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(session401.status).toBe(401);
      expect(member403.status).toBe(403);
      expect(member403.body.detail).toMatch(/ended while the request ran/);
    } finally {
      gate.answer();
      await server.close();
    }
  });

  it('matches words shorter than three letters only as themselves, not as the start of every longer word', async () => {
    // "re" would otherwise be the prefix of "residency" (and of much else).
    expect((await acme.owner.request('GET', '/v1/search?q=re')).body.data).toEqual([]);
    expect((await acme.owner.request('GET', '/v1/search?q=res')).body.data.map((h: { source: { id: string } }) => h.source.id)).toContain(ids.residency);
  });

  it('finds a passage by its own words where Postgres splits them unlike the query terms (a file-path-like token, letters of rare scripts)', async () => {
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'odd words' })).body.id;
    // Each of these once came back empty when searched for exactly (found by the isolation property test).
    const titles = ['\u{1F365})\u16B5o\u0302\u0309/bind__', 'E\u0302\u0309\uA42B\u{1014C}\u{1142E}\uA0FC', '\u24CF\u154F\u{16B88}\u{1B0F0}\uA7AC\u{105A5}\u19E8\uFD45'];
    const ids = [];
    for (const title of titles) ids.push((await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'learning', title })).body.id);
    await runJobs(env.db);
    for (const [i, title] of titles.entries()) {
      const hits = (await acme.owner.request('GET', `/v1/search?q=${encodeURIComponent(title)}&limit=50`)).body.data as { source: { id: string } }[];
      expect(hits.map((h) => h.source.id), title).toContain(ids[i]);
    }
  });

  it('answers bad queries with 400 and field paths', async () => {
    for (const [query, field] of [['q=', 'query.q'], ['q=x&types=projects', 'query.types'], ['q=x&limit=500', 'query.limit']]) {
      const response = await acme.owner.request('GET', `/v1/search?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.errors[0].path).toBe(field);
    }
  });
});

// The other organization writes a word no one else does and finds it itself; searched for
// as mine, with or without a header naming the other organization, it must find nothing.
const MARKER = 'quokkaquillion';
describeTenantRouteSecurity({
  fn: search,
  fixtures: { 'GET /v1/search': { query: `q=${MARKER}` } },
  async createResource(tenant, { db }) {
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'theirs' })).body.id;
    const id = (await tenant.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: `The ${MARKER} decision` })).body.id as string;
    await runJobs(db);
    const found = (await tenant.owner.request('GET', `/v1/search?q=${MARKER}`)).body.data.map((h: { source: { id: string } }) => h.source.id);
    expect(found, 'the owner finds its own marker').toEqual([id]);
    return id;
  },
});
