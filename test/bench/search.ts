import { sql } from 'drizzle-orm';
import { createOrganization } from '../../db/operators.ts';
import { LocalHashEmbedder } from '../../db/search/embedder.ts';
import { vectorScoring } from '../../db/search/index.ts';
import { cloneDatabase, startTestCluster } from '../cluster.ts';
import { startTestServer } from '../server.ts';
import { createTenant } from '../tenants.ts';

const WORDS = 'audit chain tenant deletion residency invoice refund widget webhook workflow approval policy retention export access review key rotation incident outage migration backup restore contract pricing onboarding'.split(' ');

/**
 * Issue 5's search figure: GET /v1/search p50/p95 for one organization with
 * 10,000 chunks, in a database holding 1,000,000 chunks in all (the others
 * spread over 99 organizations).
 */
export async function benchSearch(options: { seconds: number }) {
  const cluster = await startTestCluster();
  const db = await cloneDatabase(cluster, { appPoolMax: 10 });
  const server = await startTestServer(db);
  const extra: Awaited<ReturnType<typeof startTestServer>>[] = [];
  try {
    const embedder = new LocalHashEmbedder();
    const tenant = await createTenant(db, server, 'Searcher');
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'p' })).body.id;
    // The searching organization: varied texts and their real vectors.
    const fill = async (orgId: string, chunks: number) => {
      await db.admin.withTenant(orgId, async (tx) => {
        await tx.execute(sql`
          insert into decision_events (org_id, project_id, kind, title, actor_type)
          select ${orgId}, ${projectId}, 'learning', 'bench ' || i, 'system' from generate_series(1, ${chunks}) as i`);
        const rows = [...(await tx.execute<{ id: string }>(sql`select id from decision_events where org_id = ${orgId}`))];
        for (let start = 0; start < rows.length; start += 1000) {
          const batch = rows.slice(start, start + 1000);
          const texts = batch.map((_, i) => Array.from({ length: 40 }, (_, w) => WORDS[(start + i * 7 + w * 13) % WORDS.length]).join(' '));
          const vectors = await embedder.embed(texts);
          await tx.execute(sql`
            insert into search_chunks (org_id, source_type, decision_event_id, chunk_no, content, embedding, model)
            select ${orgId}, 'decision_event', e.id, 0, e.content, e.embedding::real[], ${embedder.model}
            from jsonb_to_recordset(${JSON.stringify(batch.map((row, i) => ({ id: row.id, content: texts[i], embedding: `{${vectors[i]!.join(',')}}` })))}::jsonb)
              as e(id uuid, content text, embedding text)`);
        }
      });
    };
    process.stderr.write('bench search: 10,000 chunks for the searching organization\n');
    await fill(tenant.orgId, 10_000);
    process.stderr.write('bench search: 990,000 chunks over 99 other organizations\n');
    for (let i = 0; i < 99; i++) {
      // Other organizations only add volume (and one shared vector will do): made directly, not through sign-ups.
      const other = { orgId: await createOrganization(db.admin, { name: `Other ${i}` }) };
      await db.admin.withTenant(other.orgId, async (tx) => {
        const [project] = await tx.execute<{ id: string }>(sql`insert into projects (org_id, name) values (${other.orgId}, 'p') returning id`);
        await tx.execute(sql`
          insert into decision_events (org_id, project_id, kind, title, actor_type)
          select ${other.orgId}, ${project!.id}, 'learning', 'other ' || i, 'system' from generate_series(1, 10000) as i`);
      });
      const vector = `{${(await embedder.embed(['filler text']))[0]!.join(',')}}`;
      await db.admin.withTenant(other.orgId, (tx) =>
        tx.execute(sql`
          insert into search_chunks (org_id, source_type, decision_event_id, chunk_no, content, embedding, model)
          select org_id, 'decision_event', id, 0, 'filler text about ' || title, ${vector}::real[], ${embedder.model}
          from decision_events where org_id = ${other.orgId}`),
      );
      if (i % 10 === 9) process.stderr.write(`  ${(i + 1) * 10_000} other chunks\n`);
    }
    await db.admin.sql`vacuum analyze search_chunks`;
    const [total] = await db.admin.sql<{ n: number }[]>`select reltuples::int8 as n from pg_class where relname = 'search_chunks'`;

    const queries = ['tenant deletion', 'audit export', 'key rotation policy', 'refund invoice', 'incident outage backup', 'webhook approval workflow'];
    const run = async (url: string, seconds: number) => {
      const latencies: number[] = [];
      const deadline = Date.now() + seconds * 1000;
      for (let i = 0; Date.now() < deadline; i++) {
        const started = performance.now();
        const response = await fetch(`${url}/v1/search?q=${encodeURIComponent(queries[i % queries.length]!)}&limit=10`, { headers: { authorization: `Bearer ${tenant.key}` } });
        const body = (await response.json()) as { data: unknown[] };
        if (response.status !== 200 || body.data.length === 0) throw new Error(`search answered ${response.status} with ${body.data.length} hits`);
        latencies.push(performance.now() - started);
      }
      latencies.sort((a, b) => a - b);
      return (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    };
    const rows: string[] = [];
    let defaultP95 = '';
    // The default (the server above: pgvector where the database has it, the
    // local embedder's text-first ranking), then each scoring path with an
    // embedder that is not lexical, whose vectors are scored over every chunk.
    const semantic = { model: embedder.model, dimensions: embedder.dimensions, embed: (texts: string[]) => embedder.embed(texts) };
    const scoring = await db.app.withTenant(tenant.orgId, (tx) => vectorScoring(tx));
    const variants: { label: string; url: string }[] = [{ label: `default (${scoring}, local embedder: vectors among the 500 best text matches)`, url: server.url }];
    if (scoring === 'pgvector') {
      const arrays = await startTestServer(db, { vectorScoring: 'array' });
      extra.push(arrays);
      variants.push({ label: 'array, local embedder: vectors among the 500 best text matches', url: arrays.url });
    }
    for (const forced of ['pgvector', 'array'] as const) {
      if (forced === 'pgvector' && scoring !== 'pgvector') continue;
      const other = await startTestServer(db, { embedder: semantic, vectorScoring: forced });
      extra.push(other);
      variants.push({ label: `${forced}, an embedder that is not lexical: vectors of every chunk`, url: other.url });
    }
    for (const variant of variants) {
      process.stderr.write(`bench search: ${variant.label}, ${options.seconds}s\n`);
      const at = await run(variant.url, options.seconds);
      rows.push(`| ${variant.label} | ${at(0.5)} | ${at(0.95)} | ${at(0.99)} |`);
      defaultP95 ||= at(0.95);
    }
    console.log(`\n## GET /v1/search: 10,000 chunks in the organization, about ${Number(total!.n).toLocaleString('en')} in the database\n`);
    console.log('| scoring | p50 ms | p95 ms | p99 ms |');
    console.log('| --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
    console.log(`\ndefault p95 ${defaultP95} ms (goal < 50 ms)\n`);
  } finally {
    for (const other of extra) await other.close();
    await server.close();
    await db.close();
    await cluster.stop();
  }
}
