import { describe, expect, it } from 'vitest';
import { createApiKey } from '../db/operators.ts';
import { createTenant } from '../test/tenants.ts';
import { useTestServer } from '../test/use-server.ts';

const env = useTestServer({ config: { requestLimits: { perAddressPerMinute: 40, perKeyPerMinute: 5, perUserPerMinute: 8 } } });

const statuses = (responses: Response[]) => responses.map((r) => r.status);

describe('request budgets', () => {
  it('answer 429 with Retry-After once an API key has spent its budget, and other keys go on', async () => {
    const tenant = await createTenant(env.db, env.server, 'Keyed');
    const burst = await Promise.all(Array.from({ length: 7 }, () => fetch(`${env.server.url}/v1/projects`, { headers: tenant.headers })));
    expect(statuses(burst).filter((s) => s === 200)).toHaveLength(5);
    const refused = burst.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    const other = await createApiKey(env.db.admin, tenant.orgId, 'second');
    expect((await fetch(`${env.server.url}/v1/projects`, { headers: { authorization: `Bearer ${other.key}` } })).status).toBe(200);
  });

  it('limit a signed-in user across requests', async () => {
    const tenant = await createTenant(env.db, env.server, 'Busy user');
    const results: number[] = [];
    for (let i = 0; i < 10; i++) results.push((await tenant.owner.request('GET', '/v1/projects')).status);
    expect(results.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(results.slice(0, 8).every((s) => s === 200)).toBe(true);
  });

  it('limit one client address, whatever it sends, but never the health check', async () => {
    const burst = await Promise.all(Array.from({ length: 60 }, () => fetch(`${env.server.url}/v1/nothing-here`)));
    expect(statuses(burst)).toContain(429);
    expect((await fetch(`${env.server.url}/health`)).status).toBe(200);
  });
});
