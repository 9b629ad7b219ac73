import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEmbeddings } from '../../test/fake-embeddings.ts';
import { queuedJobs, runJobs } from '../../test/jobs.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { LocalHashEmbedder } from './embedder.ts';
import { embedderFromEnv, RemoteEmbedder } from './remote-embedder.ts';

const fake = await startFakeEmbeddings({ apiKey: 'sk-test', model: 'fake-embed-1', dimensions: 64 });
const remote = new RemoteEmbedder({ url: fake.url, model: 'fake-embed-1', apiKey: 'sk-test', batchSize: 2 });
const env = useTestServer({ embedder: remote });
afterAll(() => fake.close());

describe('RemoteEmbedder (OpenAI-compatible endpoint)', () => {
  it('sends the model and texts in batches with the bearer key, and places vectors by index', async () => {
    fake.requests.length = 0;
    const texts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const vectors = await remote.embed(texts);
    expect(fake.requests.map((r) => r.input)).toEqual([['alpha', 'beta'], ['gamma', 'delta'], ['epsilon']]);
    expect(fake.requests.every((r) => r.model === 'fake-embed-1')).toBe(true);
    expect(vectors).toEqual(await new LocalHashEmbedder(64).embed(texts));
    expect(fake.refused).toEqual([]);
  });

  it('fails loudly on an error status, a wrong key or a body of the wrong shape', async () => {
    fake.failNext(1, 503);
    await expect(remote.embed(['x'])).rejects.toThrow('embeddings endpoint answered 503');
    await expect(new RemoteEmbedder({ url: fake.url, model: 'fake-embed-1', apiKey: 'wrong' }).embed(['x'])).rejects.toThrow('answered 401');
    await expect(new RemoteEmbedder({ url: fake.url, model: 'fake-embed-1', apiKey: 'sk-test', dimensions: 3 }).embed(['x'])).rejects.toThrow('wrong shape');
  });

  it('is what EMBEDDINGS_URL and EMBEDDINGS_MODEL select; without them the local embedder', () => {
    expect(embedderFromEnv({})).toBeInstanceOf(LocalHashEmbedder);
    const configured = embedderFromEnv({ EMBEDDINGS_URL: fake.url, EMBEDDINGS_MODEL: 'fake-embed-1', EMBEDDINGS_API_KEY: 'sk-test \n' });
    expect(configured).toBeInstanceOf(RemoteEmbedder);
    expect(configured.model).toBe('fake-embed-1');
    expect(() => embedderFromEnv({ EMBEDDINGS_URL: fake.url })).toThrow('EMBEDDINGS_MODEL');
  });
});

describe('the embedding store with a remote embedder', () => {
  let acme: TestTenant;
  let eventId: string;
  beforeAll(async () => {
    acme = await createTenant(env.db, env.server, 'Acme');
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'p' })).body.id;
    eventId = (await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Adopt the lighthouse protocol', rationale: 'Lighthouse keeps beacons in sync.' })).body.id;
  });

  it('embeds in the worker, stores the model name, and searches with the same model', async () => {
    fake.requests.length = 0;
    await runJobs(env.db, { embedder: remote });
    expect(fake.requests.flatMap((r) => r.input).join(' ')).toContain('lighthouse protocol');
    const chunks = await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ model: string; dims: number }>(`select model, array_length(embedding, 1) as dims from search_chunks`));
    expect([...chunks]).toEqual([{ model: 'fake-embed-1', dims: 64 }]);
    const hits = (await acme.owner.request('GET', '/v1/search?q=lighthouse%20beacons')).body.data;
    expect(hits[0].source.id).toBe(eventId);
    expect(hits[0].ranks.vector).toBe(1);
  });

  it('retries a job whose embedding call failed, and writes nothing half-way', async () => {
    const projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'q' })).body.id;
    const id = (await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'learning', title: 'Flaky provider day' })).body.id;
    fake.failNext(1, 500);
    await expect(runJobs(env.db, { embedder: remote })).rejects.toThrow('embeddings endpoint answered 500');
    const count = () => env.db.admin.withTenant(acme.orgId, async (tx) => [...(await tx.execute<{ n: number }>(`select count(*)::int as n from search_chunks where decision_event_id = '${id}'`))][0]!.n);
    expect(await count()).toBe(0);
    // Due again at once instead of after the back-off, as if time had passed.
    await env.db.admin.sql`update graphile_worker._private_jobs set run_at = now(), last_error = null`;
    await runJobs(env.db, { embedder: remote });
    expect(await count()).toBe(1);
  });

  it('answers a search 503 with Retry-After, not 500, while the embeddings endpoint fails', async () => {
    fake.failNext(1, 502);
    const failed = await acme.owner.request('GET', '/v1/search?q=lighthouse');
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(failed.text).not.toContain('lighthouse');
    expect((await acme.owner.request('GET', '/v1/search?q=lighthouse')).status).toBe(200);
  });

  it('re-embeds chunks made by another model when the embedder changes (the worker start-up sweep)', async () => {
    const local = new LocalHashEmbedder();
    await env.db.admin.sql`select graphile_worker.add_job('search.reembed', '{}'::json)`;
    await runJobs(env.db, { embedder: local });
    expect(await queuedJobs(env.db)).toEqual([]);
    const models = await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ model: string }>(`select distinct model from search_chunks`));
    expect([...models]).toEqual([{ model: local.model }]);
  });
});
