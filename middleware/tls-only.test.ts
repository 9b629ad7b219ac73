import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from './env.ts';
import { requestId } from 'hono/request-id';
import { tlsOnly } from './tls-only.ts';

// The decision alone, with the socket facts a Node server would report; the
// security suite covers the same rules through a real server on loopback.
function appWith(production: boolean, trustedProxies: string[] = []) {
  const app = new Hono<AppEnv>();
  app.use(requestId());
  app.use(tlsOnly({ production, trustedProxies, exempt: ['/health'] }));
  app.all('*', (c) => c.text('served'));
  return app;
}

const from = (remoteAddress: string, encrypted = false) => ({ incoming: { socket: { remoteAddress, encrypted } } }) as never;

describe('tlsOnly', () => {
  it('serves TLS connections in production', async () => {
    expect((await appWith(true).request('/v1/x', {}, from('203.0.113.7', true))).status).toBe(200);
  });

  it('redirects plain GET and refuses plain POST in production, whoever sends it', async () => {
    const get = await appWith(true).request('http://api.example/v1/x?a=1', {}, from('127.0.0.1'));
    expect(get.status).toBe(308);
    expect(get.headers.get('location')).toBe('https://api.example/v1/x?a=1');
    expect((await appWith(true).request('/v1/x', { method: 'POST' }, from('203.0.113.7'))).status).toBe(403);
  });

  it('lets /health through over plain HTTP', async () => {
    expect((await appWith(true).request('/health', {}, from('203.0.113.7'))).status).toBe(200);
  });

  it('believes X-Forwarded-Proto only from trusted proxies, IPv4-mapped addresses included', async () => {
    const app = appWith(true, ['10.0.0.0/8', '2001:db8::/32']);
    const https = { headers: { 'x-forwarded-proto': 'https' } };
    expect((await app.request('/v1/x', https, from('10.1.2.3'))).status).toBe(200);
    expect((await app.request('/v1/x', https, from('::ffff:10.1.2.3'))).status).toBe(200);
    expect((await app.request('/v1/x', https, from('2001:db8::1'))).status).toBe(200);
    expect((await app.request('/v1/x', https, from('11.1.2.3'))).status).toBe(308);
    expect((await app.request('/v1/x', { headers: { 'x-forwarded-proto': 'http' } }, from('10.1.2.3'))).status).toBe(308);
  });

  it('accepts plain HTTP in development from loopback only', async () => {
    const app = appWith(false);
    expect((await app.request('/v1/x', {}, from('127.0.0.1'))).status).toBe(200);
    expect((await app.request('/v1/x', {}, from('::1'))).status).toBe(200);
    expect((await app.request('/v1/x', {}, from('::ffff:127.0.0.1'))).status).toBe(200);
    const remote = await app.request('/v1/x', {}, from('192.0.2.10'));
    expect(remote.status).toBe(403);
    expect(remote.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a request whose peer is unknown', async () => {
    expect((await appWith(false).request('/v1/x')).status).toBe(403);
  });

  it('rejects a malformed TRUSTED_PROXIES entry at start-up', () => {
    expect(() => appWith(true, ['not-an-ip'])).toThrow(/TRUSTED_PROXIES/);
  });
});
