import { describe, expect, it } from 'vitest';
import { createApiKey } from '../db/operators.ts';
import { createTenant } from '../test/tenants.ts';
import { startTestServer } from '../test/server.ts';
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

  it('count an IPv6 client by its /64 behind a trusted proxy', async () => {
    const server = await startTestServer(env.db, { config: { requestLimits: { perAddressPerMinute: 5, perKeyPerMinute: 100, perUserPerMinute: 100 }, trustedProxies: ['127.0.0.1/32'] } });
    try {
      const from = (address: string) => fetch(`${server.url}/v1/nothing-here`, { headers: { 'x-forwarded-for': address } });
      const rotating = [];
      for (let i = 1; i <= 7; i++) rotating.push((await from(`2001:db8:0:1::${i}`)).status);
      expect(rotating.filter((s) => s === 429)).toHaveLength(2);
      expect((await from('2001:db8:0:2::1')).status).not.toBe(429);
    } finally {
      await server.close();
    }
  });

  it('limit one client address, whatever it sends, but never the health check', async () => {
    const burst = await Promise.all(Array.from({ length: 60 }, () => fetch(`${env.server.url}/v1/nothing-here`)));
    expect(statuses(burst)).toContain(429);
    expect((await fetch(`${env.server.url}/health`)).status).toBe(200);
  });
});
