import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestServer, type PlatformTestServer, type TestServerOptions } from './server.ts';

/**
 * The usual frame of an HTTP test file: its own cloned database and a server on
 * it for the whole file. Read `env.db` and `env.server` inside tests and hooks.
 */
export function useTestServer(options: TestServerOptions = {}) {
  const env = {} as { db: TestDatabase; server: PlatformTestServer };
  beforeAll(async () => {
    env.db = await createTestDatabase();
    env.server = await startTestServer(env.db, options);
  });
  afterAll(async () => {
    await env.server?.close();
    await env.db?.close();
  });
  return env;
}
