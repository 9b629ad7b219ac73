import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../db/operators.ts';
import { selectFunctions } from '../functions/index.ts';
import type { FunctionApp } from '../middleware/function-app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestServer, type TestServer } from './server.ts';
import { createTenant, type TestTenant } from './tenants.ts';
import { UserAgent } from './user-agent.ts';

export interface RouteFixture {
  /** A valid body for the route (or a function making one in the tenant's organization), so only the property under test can fail. */
  body?: unknown | ((tenant: TestTenant) => Promise<unknown>);
  /** A valid query string (without "?") the route needs. */
  query?: string;
  /** False where the route is for signed-in members only (API keys get 403 there). */
  apiKey?: boolean;
  /**
   * For a route that acts on another organization's resource: the GET path (of any
   * mounted function) whose answer to the owner must be the same after the attempt.
   * By default the GET at the route's own path, else at the nearest parent path
   * (an action suffix such as /archive trimmed off) among the function's routes.
   */
  read?: string;
}

export interface SecuritySuiteOptions {
  fn: FunctionApp;
  /** One entry per "METHOD /path" of the function's OpenAPI document. */
  fixtures: Record<string, RouteFixture>;
  /**
   * Creates a resource in the tenant's organization over HTTP and returns its id
   * (used for every path parameter) or the value of each path parameter by name.
   * It gets the suite's database, to run queued jobs (the search index) on it.
   */
  createResource(tenant: TestTenant, suite: { db: TestDatabase }): Promise<string | Record<string, string>>;
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

type Credential = 'api key' | 'session';

/**
 * The shared security suite (DESIGN.md section 8), applied to every route a
 * function declares, with both credential types: no or bad credentials -> 401;
 * no active organization -> 403; another organization's resource -> 404
 * exactly like a missing one; a header or query naming another organization
 * changes nothing; plain HTTP in production, or a forged X-Forwarded-Proto from
 * an untrusted peer -> refused; a cookie-authenticated write from another
 * origin -> refused.
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
    let theirResource: Record<string, string>;
    /** What each read path shows the owner before the suite runs, by path. */
    const theirSnapshots = new Map<string, unknown>();
    /** The last row of the other organization's audit log before the suite runs: nothing may write there. */
    let theirLastAudit: unknown;
    const lastAuditOf = async (orgId: string) =>
      (await db.admin.withTenant(orgId, (tx) => tx.execute<{ seq: string; action: string }>(sql`select seq, action from audit_log order by seq desc limit 1`)))[0];
    /** The read path whose owner view a route acting on `{...}` must leave unchanged. */
    const readPathOf = (route: RouteUnderTest): string | undefined => {
      if (route.method === 'GET') return route.path;
      if (route.fixture?.read) return route.fixture.read;
      const segments = route.path.split('/');
      for (let n = segments.length; n > 2; n--) {
        const parent = segments.slice(0, n).join('/');
        if (routes.some((r) => r.method === 'GET' && r.path === parent)) return parent;
      }
      return undefined;
    };
    const readPaths = () => [...new Set(routes.filter((r) => r.path.includes('{')).map(readPathOf))].filter((p) => p !== undefined);
    let revokedKey: string;
    let signedOutCookie: string;
    let homeless: UserAgent;

    type Params = string | Record<string, string>;
    const urlFor = (route: RouteUnderTest, params: Params) =>
      route.path.replace(/\{([^}]+)\}/g, (_, name: string) => (typeof params === 'string' ? params : (params[name] ?? params.id!)));
    /** The same parameters with every id replaced by one that exists nowhere. */
    const missing = (): Record<string, string> =>
      Object.fromEntries(Object.entries(theirResource).map(([k, v]) => [k, /^[0-9a-f-]{36}$/.test(v) ? crypto.randomUUID() : v]));
    const withQuery = (route: RouteUnderTest, suffix: string) => {
      const query = route.fixture?.query;
      if (!query) return suffix;
      return suffix ? `${suffix}&${query}` : `?${query}`;
    };
    const bodies = new Map<string, unknown>();
    const bodyOf = (route: RouteUnderTest) => (bodies.get(route.name) === undefined ? undefined : JSON.stringify(bodies.get(route.name)));
    const send = (server: TestServer, route: RouteUnderTest, headers: Record<string, string>, id: Params, suffix = '') =>
      fetch(server.url + urlFor(route, id) + withQuery(route, suffix), {
        method: route.method,
        redirect: 'manual',
        headers: { 'content-type': 'application/json', ...headers },
        body: bodyOf(route),
      });
    /** Sends as the tenant with the given credential; sessions go through the tenant's cookie jar on `server`. */
    const sendAs = async (tenant: TestTenant, credential: Credential, route: RouteUnderTest, id: Params, extra: Record<string, string> = {}, suffix = '') => {
      if (credential === 'api key') return send(dev, route, { ...tenant.headers, ...extra }, id, suffix);
      return send(dev, route, { cookie: tenant.owner.cookieHeader(), origin: new URL(dev.url).origin, ...extra }, id, suffix);
    };
    const problemOf = async (response: Response) => {
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const { instance: _instance, ...rest } = (await response.json()) as Record<string, unknown>;
      return rest;
    };
    const readRoute = (path: string): RouteUnderTest => ({ name: `GET ${path}`, method: 'GET', path, fixture: undefined });
    /**
     * A response as the caller sees it, less what differs between any two requests: the
     * problem's request id, and in an audit export the audit.export rows, one of which
     * each export appends (so each export shows the one before it).
     */
    const seen = async (response: Response) => {
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text.split('\n').filter((line) => !line.includes('"action":"audit.export"'));
      }
      if (body && typeof body === 'object' && 'instance' in body) delete (body as Record<string, unknown>).instance;
      return { status: response.status, body };
    };
    /** Everything that names the other organization or what it owns: no answer to mine may contain any of it. */
    const theirNames = () => [theirs.orgId, theirs.keyId, ...Object.values(theirResource)].filter((v) => v.length >= 8);
    const credentialsFor = (route: RouteUnderTest): Credential[] => (route.fixture?.apiKey === false ? ['session'] : ['api key', 'session']);

    beforeAll(async () => {
      db = await createTestDatabase();
      // Every function is mounted: users sign up through identity, and fixtures
      // may need other resources (a decision event needs a project).
      const functions = selectFunctions(undefined);
      dev = await startTestServer(db, { functions });
      // The test's own peer address (127.0.0.1) is not a trusted proxy here...
      production = await startTestServer(db, { functions, config: { production: true, trustedProxies: ['10.0.0.0/8'] } });
      // ...and here it is.
      behindProxy = await startTestServer(db, { functions, config: { production: true, trustedProxies: ['127.0.0.1/32'] } });
      mine = await createTenant(db, dev, 'Mine');
      theirs = await createTenant(db, dev, 'Theirs');
      const created = await options.createResource(theirs, { db });
      theirResource = typeof created === 'string' ? { id: created } : created;
      for (const path of readPaths()) {
        const response = await sendAs(theirs, 'session', readRoute(path), theirResource);
        expect(response.status, `the owner reads ${path}`).toBe(200);
        theirSnapshots.set(path, await response.json());
      }
      theirLastAudit = await lastAuditOf(theirs.orgId);
      expect(theirLastAudit, 'the other organization has an audit log to compare').toBeDefined();
      for (const route of routes) {
        const body = route.fixture?.body;
        bodies.set(route.name, typeof body === 'function' ? await (body as (t: TestTenant) => Promise<unknown>)(mine) : body);
      }
      const revoked = await createApiKey(db.admin, mine.orgId, 'revoked');
      await revokeApiKey(db.admin, mine.orgId, revoked.id);
      revokedKey = revoked.key;
      const leaver = new UserAgent(dev);
      await leaver.signUp(`leaver-${Math.random().toString(36).slice(2)}@example.test`);
      signedOutCookie = leaver.cookieHeader();
      await leaver.request('POST', '/api/auth/sign-out', {});
      homeless = new UserAgent(dev);
      await homeless.signUp(`homeless-${Math.random().toString(36).slice(2)}@example.test`);
    });
    afterAll(async () => {
      await Promise.all([dev?.close(), production?.close(), behindProxy?.close()]);
      await db?.close();
    });

    it('covers every route the function declares', () => {
      expect(routes.length).toBeGreaterThan(0);
      for (const route of routes) expect(route.fixture, `${route.name} has no fixture in the security suite`).toBeDefined();
      for (const route of routes.filter((r) => r.path.includes('{'))) {
        expect(readPathOf(route), `${route.name}: name the read path that shows its target (fixture.read)`).toBeDefined();
      }
    });

    for (const route of routes) {
      describe(route.name, () => {
        it('answers 401 without a credential, or with a malformed, unknown, revoked, tampered or signed-out one', async () => {
          const tamperedCookie = mine.owner.cookieHeader().replace(/=([^;.]{4})/, '=AAAA');
          const bad: Record<string, string>[] = [
            {},
            { authorization: 'Bearer nope' },
            { authorization: `Basic ${btoa('a:b')}` },
            { authorization: `Bearer km_${'A'.repeat(43)}` },
            { authorization: `Bearer ${revokedKey}` },
            { cookie: tamperedCookie, origin: new URL(dev.url).origin },
            { cookie: signedOutCookie, origin: new URL(dev.url).origin },
            { cookie: 'better-auth.session_token=forged.value', origin: new URL(dev.url).origin },
          ];
          for (const headers of bad) {
            const response = await send(dev, route, headers, theirResource);
            expect(response.status, JSON.stringify(headers)).toBe(401);
            expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
            expect((await problemOf(response)).status).toBe(401);
          }
        });

        it('is documented with the credentials it takes, and an API key is refused where only people may act', async () => {
          const document = (await (await fetch(`${dev.url}/openapi.json`)).json()) as {
            security: unknown;
            paths: Record<string, Record<string, { security?: unknown }>>;
          };
          const operation = document.paths[route.path]?.[route.method.toLowerCase()];
          expect(operation, `${route.name} in /openapi.json`).toBeDefined();
          if (route.fixture?.apiKey === false) {
            expect(operation!.security).toEqual([{ session: [] }]);
            const byKey = await sendAs(mine, 'api key', route, theirResource);
            expect(byKey.status).toBe(403);
            expect((await problemOf(byKey)).detail).toMatch(/signed-in/);
          } else {
            expect(operation!.security ?? document.security).toEqual([{ apiKey: [] }, { session: [] }]);
          }
        });

        it('answers 403 to a signed-in user without an active organization', async () => {
          const response = await send(dev, route, { cookie: homeless.cookieHeader(), origin: new URL(dev.url).origin }, theirResource);
          expect(response.status).toBe(403);
          expect((await problemOf(response)).detail).toMatch(/active organization/);
        });

        if (route.method !== 'GET') {
          it('refuses a cookie-authenticated change without our Origin', async () => {
            for (const origin of [undefined, 'https://evil.example']) {
              const headers: Record<string, string> = { cookie: mine.owner.cookieHeader(), ...(origin ? { origin } : {}) };
              const response = await send(dev, route, headers, theirResource);
              expect(response.status, `${origin}`).toBe(403);
            }
          });
        }

        for (const credential of credentialsFor(route)) {
          if (route.path.includes('{')) {
            it(`answers another organization's resource exactly like a missing one, and leaves it untouched (${credential})`, async () => {
              const other = await sendAs(mine, credential, route, theirResource);
              const absent = await sendAs(mine, credential, route, missing());
              expect(other.status).toBe(404);
              expect(await problemOf(other)).toEqual(await problemOf(absent));
              const path = readPathOf(route)!;
              const owner = await sendAs(theirs, 'session', readRoute(path), theirResource);
              expect(owner.status, path).toBe(200);
              expect(await owner.json(), path).toEqual(theirSnapshots.get(path));
              expect(await lastAuditOf(theirs.orgId), 'the other organization’s audit log').toEqual(theirLastAudit);
            });
          }

          it(`ignores a header or query parameter naming another organization (${credential})`, async () => {
            const naming = { 'x-organization-id': theirs.orgId, 'x-org-id': theirs.orgId, 'x-tenant-id': theirs.orgId };
            const suffix = `?organizationId=${theirs.orgId}&orgId=${theirs.orgId}`;
            // A read is answered as if nothing named the other organization: the same as without the names.
            const plain = route.method === 'GET' ? await seen(await sendAs(mine, credential, route, theirResource)) : undefined;
            let response = await sendAs(mine, credential, route, theirResource, naming, route.method === 'GET' ? suffix : '');
            if (response.status === 400 && route.method === 'GET') {
              // A route that refuses unknown query parameters (the audit log's filters) names them;
              // the headers are then tried on their own, so they are tested on that route too.
              expect((await problemOf(response)).errors).toEqual([
                { path: 'query.organizationId', message: 'not a known field' },
                { path: 'query.orgId', message: 'not a known field' },
              ]);
              response = await sendAs(mine, credential, route, theirResource, naming, '');
            }
            const named = await seen(response);
            for (const name of theirNames()) expect(JSON.stringify(named.body), name).not.toContain(name);
            if (!route.path.includes('{')) expect(named.status).toBeLessThan(300);
            else expect(named.status).toBe(404);
            if (plain) expect(named).toEqual(plain);
            expect(await lastAuditOf(theirs.orgId), 'the other organization’s audit log').toEqual(theirLastAudit);
          });
        }

        it('refuses plain HTTP in production (GET/HEAD redirect to https, other methods 403)', async () => {
          await expectRefusedPlainHttp(route, await send(production, route, mine.headers, theirResource));
        });

        it('ignores X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
          await expectRefusedPlainHttp(route, await send(production, route, { ...mine.headers, 'x-forwarded-proto': 'https' }, theirResource));
        });

        it('believes X-Forwarded-Proto from a trusted proxy', async () => {
          const response = await send(behindProxy, route, { ...mine.headers, 'x-forwarded-proto': 'https' }, missing());
          expect([308]).not.toContain(response.status);
          if (response.status === 403) expect((await problemOf(response)).type).not.toBe('urn:kommit:problem:tls-required');
          expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        });
      });
    }
  });
}

/**
 * The TLS check itself must have answered: on a session-only route the role
 * check also answers an API key with 403, so the status alone proves nothing.
 */
async function expectRefusedPlainHttp(route: RouteUnderTest, response: Response) {
  if (route.method === 'GET' || route.method === 'HEAD') {
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toMatch(/^https:\/\//);
  } else {
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { type?: string }).type).toBe('urn:kommit:problem:tls-required');
  }
}
