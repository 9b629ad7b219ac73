import { describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/server.ts';
import { useTestServer } from '../test/use-server.ts';
import { createTenant } from '../test/tenants.ts';

// A production server behind a trusted proxy (loopback), as under Traefik.
const env = useTestServer();

describe('security headers', () => {
  it('are on every kind of response in production: HSTS, nosniff, no framing, referrer policy, a content security policy', async () => {
    let server: TestServer | undefined;
    try {
      server = await startTestServer(env.db, { config: { production: true, trustedProxies: ['127.0.0.1/32'] } });
      const paths = ['/health', '/openapi.json', '/docs', '/v1/projects', '/v1/nothing', '/console/sign-in', '/hooks/not-an-id'];
      for (const path of paths) {
        for (const method of ['GET', 'POST']) {
          const response = await fetch(`${server.url}${path}`, { method, headers: { 'x-forwarded-proto': 'https' }, redirect: 'manual' });
          const what = `${method} ${path} (${response.status})`;
          expect(response.status, what).toBeLessThan(500);
          expect(response.headers.get('strict-transport-security'), what).toMatch(/max-age=\d{8}/);
          expect(response.headers.get('x-content-type-options'), what).toBe('nosniff');
          expect(response.headers.get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
          expect(response.headers.get('x-frame-options'), what).toBe('DENY');
          expect(response.headers.get('referrer-policy'), what).toBe('same-origin');
        }
      }
    } finally {
      await server?.close();
    }
  });

  it('keep responses that say nothing about caching out of every cache (they carry tenant data), and leave a route\'s own policy alone', async () => {
    const tenant = await createTenant(env.db, env.server, 'Caching');
    for (const path of ['/v1/projects', '/v1/audit-log', '/v1/audit-log/export?format=csv', '/v1/nothing']) {
      expect((await fetch(`${env.server.url}${path}`, { headers: tenant.headers })).headers.get('cache-control'), path).toBe('no-store');
    }
    expect((await fetch(`${env.server.url}/v1/projects`)).headers.get('cache-control')).toBe('no-store');
    // The widget's script is loaded by other sites and may be cached; it says so itself.
    expect((await fetch(`${env.server.url}/widget.js`)).headers.get('cache-control')).toMatch(/^public/);
  });

  it('include no HSTS outside production (plain-HTTP development must keep working)', async () => {
    const response = await fetch(`${env.server.url}/health`);
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
