import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { startTestServer, type TestServer } from '../test/server.ts';
import { UserAgent, uniqueEmail } from '../test/user-agent.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

async function withServer(limits: { perAccount: number; perAddress: number }, fn: (server: TestServer) => Promise<void>) {
  const server = await startTestServer(db, { config: { signInLimits: { ...limits, windowSeconds: 60 } } });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

describe('sign-in rate limits', () => {
  it('count an IPv6 client by its /64, so rotating through its addresses gains nothing', async () => {
    const server = await startTestServer(db, { config: { signInLimits: { perAccount: 100, perAddress: 3, windowSeconds: 60 }, trustedProxies: ['127.0.0.1/32'] } });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const response = await fetch(`${server.url}/api/auth/sign-in/email`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: new URL(server.url).origin, 'x-forwarded-for': `2001:db8:0:1::${i.toString(16)}` },
          body: JSON.stringify({ email: uniqueEmail(`rotating-${i}`), password: 'correct horse battery' }),
        });
        statuses.push(response.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // Another /64 has a budget of its own.
      const elsewhere = await fetch(`${server.url}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(server.url).origin, 'x-forwarded-for': '2001:db8:0:2::1' },
        body: JSON.stringify({ email: uniqueEmail('elsewhere'), password: 'correct horse battery' }),
      });
      expect(elsewhere.status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('stop guessing one account’s password, with 429 and Retry-After', async () => {
    await withServer({ perAccount: 3, perAddress: 100 }, async (server) => {
      const email = `target-${Math.random().toString(36).slice(2)}@example.test`;
      await new UserAgent(server).signUp(email);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await new UserAgent(server).signIn(email, `guess-number-${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const limited = await new UserAgent(server).signIn(email);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('content-type')).toBe('application/problem+json');
      // Another account from the same address is not affected by this one's budget.
      const other = `other-${Math.random().toString(36).slice(2)}@example.test`;
      await new UserAgent(server).signUp(other);
      expect((await new UserAgent(server).signIn(other)).status).toBe(200);
    });
  });

  it('stop one address from trying many accounts', async () => {
    await withServer({ perAccount: 100, perAddress: 5 }, async (server) => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await new UserAgent(server).signIn(`nobody-${i}@example.test`, 'whatever password')).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    });
  });
});

/** Posts a console form as a fresh browser, and says where it landed and the message shown there. */
async function consoleForm(server: TestServer, path: string, fields: Record<string, string>) {
  const agent = new UserAgent(server);
  const page = await agent.follow(await agent.form(path, fields));
  return { path: page.path, ...page.messages };
}

describe('sign-in rate limits, whatever the way in', () => {
  it('count a form-encoded sign-in against the account, from addresses that change every time', async () => {
    // Our loopback client is a trusted proxy here, so X-Forwarded-For sets each request's address.
    const server = await startTestServer(db, { config: { trustedProxies: ['127.0.0.1'], signInLimits: { perAccount: 3, perAddress: 2, windowSeconds: 60 } } });
    try {
      const email = uniqueEmail('form-target');
      await new UserAgent(server).signUp(email);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const form = new URLSearchParams({ email, password: `guess-number-${i}` });
        statuses.push((await new UserAgent(server).request('POST', '/api/auth/sign-in/email', form, { 'x-forwarded-for': `203.0.113.${i + 1}` })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await server.close();
    }
  });

  it('hold for console sign-ups, per address', async () => {
    await withServer({ perAccount: 100, perAddress: 2 }, async (server) => {
      const landed = [];
      for (let i = 0; i < 3; i++) landed.push(await consoleForm(server, '/console/sign-up', { name: 'New', email: uniqueEmail('console-new'), password: 'correct horse battery' }));
      const welcome = { path: '/console', notice: expect.stringMatching(/^Welcome to Kommit/) };
      expect(landed).toEqual([welcome, welcome, { path: '/console/sign-up', error: expect.stringMatching(/^Too many sign-ups from this address/) }]);
    });
  });

  it('are one budget per account for console and API sign-ins', async () => {
    await withServer({ perAccount: 3, perAddress: 100 }, async (server) => {
      const email = uniqueEmail('both-ways');
      await new UserAgent(server).signUp(email);
      for (let i = 0; i < 3; i++) expect((await new UserAgent(server).signIn(email, `guess-number-${i}`)).status).toBe(401);
      const landed = await consoleForm(server, '/console/sign-in', { email, password: 'correct horse battery' });
      expect(landed).toEqual({ path: '/console/sign-in', error: expect.stringMatching(/^Too many sign-in attempts for this account/) });
    });
  });

  it('stop a stolen session from guessing its password through the endpoints that check it', async () => {
    await withServer({ perAccount: 3, perAddress: 100 }, async (server) => {
      const attempts: [string, Record<string, string>][] = [
        ['/api/auth/change-password', { currentPassword: 'a wrong guess', newPassword: 'another new password' }],
        ['/api/auth/verify-password', { password: 'a wrong guess' }],
        ['/api/auth/delete-user', { password: 'a wrong guess' }],
      ];
      for (const [path, body] of attempts) {
        const thief = new UserAgent(server);
        await thief.signUp(uniqueEmail('stolen'));
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await thief.request('POST', path, body)).status);
        expect(statuses, path).toEqual([400, 400, 400, 429]);
        // The owner's own sign-in now waits too: the budget is the account's.
        const limited = await thief.request('POST', path, { ...body, currentPassword: 'correct horse battery', password: 'correct horse battery' });
        expect(limited.status, path).toBe(429);
        expect(limited.headers.get('content-type')).toBe('application/problem+json');
        expect(limited.body.detail, path).toMatch(/^Too many password attempts for this account/);
      }
    });
  });
});
