import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, holdKeyTransaction, settledWithin, type TestTenant } from '../../../test/tenants.ts';
import { someoneWaitsForALock } from '../../../test/races.ts';
import { useTestServer } from '../../../test/use-server.ts';

const env = useTestServer();
let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTenant(env.db, env.server, 'Keys');
});

describe('API keys', () => {
  it('are shown in full once, listed by prefix and last use only, and fail on their next request once revoked', async () => {
    const created = await tenant.owner.request('POST', '/v1/api-keys', { name: 'deploy bot' });
    expect(created.status).toBe(201);
    const { key, id, prefix } = created.body;
    expect(key).toMatch(/^km_[\w-]{43}$/);
    expect(key.startsWith(prefix)).toBe(true);

    const asKey = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const use = await fetch(`${env.server.url}/v1/projects`, { headers: asKey });
    expect(use.status).toBe(200);

    const list = await tenant.owner.request('GET', '/v1/api-keys');
    const listed = list.body.data.find((k: { id: string }) => k.id === id);
    expect(listed).toMatchObject({ name: 'deploy bot', prefix, revokedAt: null });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(list.text).not.toContain(key.slice(prefix.length));

    const revoked = await tenant.owner.request('DELETE', `/v1/api-keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await fetch(`${env.server.url}/v1/projects`, { headers: asKey })).status).toBe(401);
    expect((await tenant.owner.request('DELETE', `/v1/api-keys/${id}`)).status).toBe(404);
  });

  it('are revoked only once the requests in flight with them have finished, and none after it gets in', async () => {
    const { key, id } = (await tenant.owner.request('POST', '/v1/api-keys', { name: 'in flight' })).body;
    const asKey = { authorization: `Bearer ${key}` };
    expect((await fetch(`${env.server.url}/v1/projects`, { headers: asKey })).status).toBe(200);
    const inFlight = await holdKeyTransaction(env.db, key);
    const revoked = tenant.owner.request('DELETE', `/v1/api-keys/${id}`);
    expect(await settledWithin(revoked)).toBe('waiting');
    await someoneWaitsForALock(env.db);
    // A request that comes in meanwhile is held too, and then refused.
    const late = fetch(`${env.server.url}/v1/projects`, { headers: asKey });
    expect(await settledWithin(late)).toBe('waiting');
    await inFlight.release();
    expect((await revoked).status).toBe(200);
    expect((await late).status).toBe(401);
  });

  it('list page by page with a cursor, and filter on revoked, so no key is ever out of reach', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await tenant.owner.request('POST', '/v1/api-keys', { name: `paged ${i}` })).body.id);
    await tenant.owner.request('DELETE', `/v1/api-keys/${ids[0]}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await tenant.owner.request('GET', `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((k) => k.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(ids));
    const inUse = (await tenant.owner.request('GET', '/v1/api-keys?revoked=false&limit=200')).body.data.map((k: { id: string }) => k.id);
    const gone = (await tenant.owner.request('GET', '/v1/api-keys?revoked=true&limit=200')).body.data.map((k: { id: string }) => k.id);
    expect(inUse).toEqual(expect.arrayContaining(ids.slice(1)));
    expect(inUse).not.toContain(ids[0]);
    expect(gone).toContain(ids[0]);
    expect((await tenant.owner.request('GET', '/v1/api-keys?revoked=maybe')).status).toBe(400);
  });

  it('cannot be managed with an API key', async () => {
    const response = await fetch(`${env.server.url}/v1/api-keys`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name: 'x' }) });
    expect(response.status).toBe(403);
  });

  it('reject a bad name with 400 and field paths', async () => {
    const response = await tenant.owner.request('POST', '/v1/api-keys', { name: '' });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].path).toBe('json.name');
  });
});
