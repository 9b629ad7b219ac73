import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions } from '../../../db/schema/auth.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/database.ts';
import { startTestServer } from '../../../test/server.ts';
import { UserAgent } from '../../../test/user-agent.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@example.test`;

describe('session cookies', () => {
  it('are HttpOnly and SameSite=Lax, and also Secure with the __Secure- prefix in production', async () => {
    const dev = await startTestServer(db);
    const production = await startTestServer(db, { config: { production: true, trustedProxies: ['127.0.0.1/32'] } });
    try {
      const devCookie = (await new UserAgent(dev).request('POST', '/api/auth/sign-up/email', { email: unique('c'), name: 'c', password: 'correct horse battery' }))
        .headers.getSetCookie().find((c) => c.includes('session_token'))!;
      expect(devCookie).toMatch(/HttpOnly/i);
      expect(devCookie).toMatch(/SameSite=Lax/i);

      const prodAgent = new UserAgent(production);
      const response = await prodAgent.request(
        'POST',
        '/api/auth/sign-up/email',
        { email: unique('p'), name: 'p', password: 'correct horse battery' },
        { 'x-forwarded-proto': 'https' },
      );
      const prodCookie = response.headers.getSetCookie().find((c) => c.includes('session_token'))!;
      expect(prodCookie).toMatch(/^__Secure-/);
      expect(prodCookie).toMatch(/; Secure/i);
      expect(prodCookie).toMatch(/HttpOnly/i);
    } finally {
      await dev.close();
      await production.close();
    }
  });

  it('of an expired session no longer authenticate', async () => {
    const server = await startTestServer(db);
    try {
      const agent = new UserAgent(server);
      const user = await agent.signUp(unique('expired'));
      await agent.createOrganization('Expiring');
      expect((await agent.request('GET', '/v1/projects')).status).toBe(200);
      await db.identity.db.update(sessions).set({ expiresAt: sql`now() - interval '1 minute'` }).where(eq(sessions.userId, user.id));
      expect((await agent.request('GET', '/v1/projects')).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});

describe('logs', () => {
  it('never contain passwords, session tokens or API keys', async () => {
    const lines: string[] = [];
    const server = await startTestServer(db, { log: (line) => lines.push(line) });
    try {
      const password = 'a secret nobody logs 42';
      const agent = new UserAgent(server);
      await agent.signUp(unique('logged'), 'logged', password);
      await agent.createOrganization('Logged');
      await agent.signIn(unique('someone-else'), password);
      const key = (await agent.request('POST', '/v1/api-keys', { name: 'k' })).body.key as string;
      await fetch(`${server.url}/v1/projects`, { headers: { authorization: `Bearer ${key}` } });
      await fetch(`${server.url}/v1/projects?token=${key}`, { headers: { authorization: `Bearer ${key}` } });
      const token = decodeURIComponent(agent.cookieHeader().match(/session_token=([^;.]+)/)![1]!);

      const log = lines.join('\n');
      expect(lines.length).toBeGreaterThan(5);
      expect(log).not.toContain(password);
      expect(log).not.toContain(token);
      expect(log).not.toContain(key.slice(3));
    } finally {
      await server.close();
    }
  });
});

describe('a session cookie sent from another site', () => {
  it('opens nothing in the API, not even a GET (Fetch Metadata): another site cannot make a browser export and record the audit log', async () => {
    const server = await startTestServer(db);
    try {
      const agent = new UserAgent(server);
      await agent.signUp(unique('f'));
      const org = await agent.createOrganization('Fetch metadata');
      const exportAs = (site?: string) => agent.request('GET', '/v1/audit-log/export?format=csv', undefined, site ? { 'sec-fetch-site': site } : {});
      for (const site of ['cross-site', 'same-site']) {
        const refused = await exportAs(site);
        expect(refused.status, site).toBe(403);
        expect(refused.headers.get('content-type')).toBe('application/problem+json');
        expect((await agent.request('GET', '/v1/projects', undefined, { 'sec-fetch-site': site })).status).toBe(403);
      }
      const exportsRecorded = async () =>
        (await db.admin.withTenant(org.id, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from audit_log where action = 'audit.export'`)))[0]!.n;
      expect(await exportsRecorded()).toBe(0);
      // The console's own link (same-origin), a typed address or bookmark (none), and clients that are not browsers.
      for (const site of ['same-origin', 'none', undefined]) expect((await exportAs(site)).status, String(site)).toBe(200);
      expect(await exportsRecorded()).toBe(3);
    } finally {
      await server.close();
    }
  });
});
