import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { startTestServer, type TestServer } from '../test/server.ts';
import { UserAgent } from '../test/user-agent.ts';

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
