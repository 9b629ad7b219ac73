import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../db/operators.ts';
import type { FunctionApp } from '../middleware/function-app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestServer, type TestServer } from './server.ts';
import { createTenant, type TestTenant } from './tenants.ts';

export interface RouteFixture {
  /** A valid body for the route, so only the property under test can fail. */
  body?: unknown;
}

export interface SecuritySuiteOptions {
  fn: FunctionApp;
  /** One entry per "METHOD /path" of the function's OpenAPI document. */
  fixtures: Record<string, RouteFixture>;
  /** Creates a resource as this tenant over HTTP and returns its id (used for every path parameter). */
  createResource(server: TestServer, tenant: TestTenant): Promise<string>;
}

interface RouteUnderTest {
  name: string;
  method: string;
  path: string;
  fixture: RouteFixture | undefined;
}

function routesOf(fn: FunctionApp, fixtures: Record<string, RouteFixture>): RouteUnderTest[] {
  const document = fn.getOpenAPI31Document({ openapi: '3.1.0', info: { title: fn.functionName, version: 'test' } });
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {})
      .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map((method) => {
        const name = `${method.toUpperCase()} ${path}`;
        return { name, method: method.toUpperCase(), path, fixture: fixtures[name] };
      }),
  );
}

/**
 * The shared security suite (DESIGN.md section 8), applied to every route a
 * function declares: no or bad credentials -> 401; another organization's
 * resource -> 404 exactly like a missing one; plain HTTP in production, or a
 * forged X-Forwarded-Proto from an untrusted peer -> refused.
 */
export function describeTenantRouteSecurity(options: SecuritySuiteOptions) {
  const routes = routesOf(options.fn, options.fixtures);

  describe(`security suite: ${options.fn.functionName}`, () => {
    let db: TestDatabase;
    let dev: TestServer;
    let production: TestServer;
    let behindProxy: TestServer;
    let mine: TestTenant;
    let theirs: TestTenant;
    let theirResource: string;
    let theirSnapshot: unknown;
    let revokedKey: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      dev = await startTestServer(db, { functions: [options.fn] });
      // The test's own peer address (127.0.0.1) is not a trusted proxy here...
      production = await startTestServer(db, { functions: [options.fn], config: { production: true, trustedProxies: ['10.0.0.0/8'] } });
      // ...and here it is.
      behindProxy = await startTestServer(db, { functions: [options.fn], config: { production: true, trustedProxies: ['127.0.0.1/32'] } });
      mine = await createTenant(db, 'Mine');
      theirs = await createTenant(db, 'Theirs');
      theirResource = await options.createResource(dev, theirs);
      const getRoute = routes.find((r) => r.method === 'GET' && r.path.includes('{'));
      if (getRoute) theirSnapshot = await (await fetch(dev.url + urlFor(getRoute, theirResource), { headers: theirs.headers })).json();
      const revoked = await createApiKey(db.admin, mine.orgId, 'revoked');
      await revokeApiKey(db.admin, mine.orgId, revoked.id);
      revokedKey = revoked.key;
    });
    afterAll(async () => {
      await Promise.all([dev?.close(), production?.close(), behindProxy?.close()]);
      await db?.close();
    });

    const urlFor = (route: RouteUnderTest, id: string) => route.path.replace(/\{[^}]+\}/g, id);
    const send = (server: TestServer, route: RouteUnderTest, headers: Record<string, string>, id: string) =>
      fetch(server.url + urlFor(route, id), {
        method: route.method,
        redirect: 'manual',
        headers: { 'content-type': 'application/json', ...headers },
        body: route.fixture?.body === undefined ? undefined : JSON.stringify(route.fixture.body),
      });
    const problemOf = async (response: Response) => {
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const { instance: _instance, ...rest } = (await response.json()) as Record<string, unknown>;
      return rest;
    };

    it('covers every route the function declares', () => {
      expect(routes.length).toBeGreaterThan(0);
      for (const route of routes) expect(route.fixture, `${route.name} has no fixture in the security suite`).toBeDefined();
    });

    for (const route of routes) {
      describe(route.name, () => {
        it('answers 401 without a credential, with a malformed one, an unknown one or a revoked one', async () => {
          const unknownKey = `km_${'A'.repeat(43)}`;
          for (const authorization of [undefined, 'Bearer nope', `Basic ${btoa('a:b')}`, `Bearer ${unknownKey}`, `Bearer ${revokedKey}`]) {
            const response = await send(dev, route, authorization ? { authorization } : {}, theirResource);
            expect(response.status, `${authorization}`).toBe(401);
            expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
            expect((await problemOf(response)).status).toBe(401);
          }
        });

        if (route.path.includes('{')) {
          it("answers another organization's resource exactly like a missing one, and leaves it untouched", async () => {
            const other = await send(dev, route, mine.headers, theirResource);
            const missing = await send(dev, route, mine.headers, crypto.randomUUID());
            expect(other.status).toBe(404);
            expect(await problemOf(other)).toEqual(await problemOf(missing));
            const getRoute = routes.find((r) => r.method === 'GET' && r.path === route.path) ?? route;
            const owner = await fetch(dev.url + urlFor(getRoute, theirResource), { headers: theirs.headers });
            expect(owner.status).toBe(200);
            expect(await owner.json()).toEqual(theirSnapshot);
          });
        }

        it('refuses plain HTTP in production (GET/HEAD redirect to https, other methods 403)', async () => {
          const response = await send(production, route, mine.headers, theirResource);
          expectRefusedPlainHttp(route, response);
        });

        it('ignores X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
          const response = await send(production, route, { ...mine.headers, 'x-forwarded-proto': 'https' }, theirResource);
          expectRefusedPlainHttp(route, response);
        });

        it('believes X-Forwarded-Proto from a trusted proxy', async () => {
          const response = await send(behindProxy, route, { ...mine.headers, 'x-forwarded-proto': 'https' }, crypto.randomUUID());
          expect([308, 403]).not.toContain(response.status);
          expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        });
      });
    }
  });
}

function expectRefusedPlainHttp(route: RouteUnderTest, response: Response) {
  if (route.method === 'GET' || route.method === 'HEAD') {
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toMatch(/^https:\/\//);
  } else {
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  }
}
