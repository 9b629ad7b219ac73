import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bootstrapDatabase, secureDatabase } from '../db/bootstrap.ts';
import { connect } from '../db/connection.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { createDatabase } from '../db/tenant.ts';
import { freePort } from './ports.ts';

export const TEMPLATE_DATABASE = 'kommit_template';

/** What test files (and benchmarks) need to reach the shared test server. */
export interface TestPostgres {
  port: number;
  ca: string;
  superuserUrl: string;
  passwords: { app: string; admin: string; auth: string };
}

/**
 * A throwaway embedded Postgres (TLS, hostssl-only, scram) with the real roles,
 * migrated once into a template database that tests clone.
 */
export async function startTestCluster(): Promise<TestPostgres & { stop(): Promise<void>; pause(): Promise<void>; resume(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'kommit-test-'));
  // Postgres runs as the `postgres` user when we are root; it must reach its data directory.
  await chmod(root, 0o755);
  const port = await freePort();
  const secret = () => randomBytes(18).toString('base64url');
  const passwords = { app: secret(), admin: secret(), auth: secret() };
  // Persistent, so pause() and resume() keep the data; stop() removes the whole directory itself.
  const superuserPassword = secret();
  const start = () => startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), port, superuserPassword, persistent: true });
  let cluster = await start();
  const url = (user: string, password: string) => `postgres://${user}:${password}@localhost:${port}/${TEMPLATE_DATABASE}`;
  const adminUrl = url('beheerder', passwords.admin);
  await bootstrapDatabase({
    superuserUrl: cluster.superuserUrl,
    appUrl: url('kommit_app', passwords.app),
    authUrl: url('kommit_auth', passwords.auth),
    adminUrl,
    ca: cluster.ca,
  });
  await migrateDatabase(adminUrl, cluster.ca);
  return {
    port,
    ca: cluster.ca!,
    superuserUrl: cluster.superuserUrl,
    passwords,
    async stop() {
      await cluster.stop();
      await rm(root, { recursive: true, force: true });
    },
    /** Shuts the server down (fast shutdown: open sessions are ended), keeping its data. */
    pause: () => cluster.stop(),
    async resume() {
      cluster = await start();
    },
  };
}

/** Whether the test Postgres offers pgvector (db/pgvector/install.sh builds it into the embedded one). */
export async function offersPgvector(postgres: Pick<TestPostgres, 'superuserUrl' | 'ca'>) {
  const sql = connect(postgres.superuserUrl, { ca: postgres.ca, max: 1 });
  try {
    return (await sql`select 1 from pg_available_extensions where name = 'vector'`).length > 0;
  } finally {
    await sql.end();
  }
}

export interface TestDatabase {
  name: string;
  ca: string;
  appUrl: string;
  adminUrl: string;
  /** kommit_auth: Better Auth's connection. */
  authUrl: string;
  superuserUrl: string;
  /** kommit_app over verified TLS, as the server connects. */
  app: ReturnType<typeof createDatabase>;
  /** beheerder: fixtures and deliberate tampering only. */
  admin: ReturnType<typeof createDatabase>;
  /** kommit_auth: to look at identity tables as Better Auth sees them. */
  identity: ReturnType<typeof createDatabase>;
  close(): Promise<void>;
}

/** A fresh database cloned from the migrated template. */
export async function cloneDatabase(pg: TestPostgres, options: { appPoolMax?: number } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(8).toString('hex')}`;
  const su = connect(pg.superuserUrl, { max: 1, ca: pg.ca });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await su.unsafe(`create database "${name}" template ${TEMPLATE_DATABASE}`);
        break;
      } catch (error) {
        // Two files cloning the template at the same moment: the second waits.
        if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  } finally {
    await su.end();
  }
  await secureDatabase(pg.superuserUrl, name, 'beheerder', pg.ca);

  const login = (user: string, password: string) => {
    const u = new URL(`postgres://localhost:${pg.port}/${name}`);
    u.username = user;
    u.password = password;
    return u.toString();
  };
  const appUrl = login('kommit_app', pg.passwords.app);
  const adminUrl = login('beheerder', pg.passwords.admin);
  const authUrl = login('kommit_auth', pg.passwords.auth);
  const superuserUrl = new URL(pg.superuserUrl);
  superuserUrl.pathname = `/${name}`;
  const app = createDatabase(appUrl, { ca: pg.ca, max: options.appPoolMax ?? 5 });
  const admin = createDatabase(adminUrl, { ca: pg.ca, max: 3 });
  const identity = createDatabase(authUrl, { ca: pg.ca, max: 2 });
  return {
    name,
    ca: pg.ca,
    appUrl,
    adminUrl,
    authUrl,
    superuserUrl: superuserUrl.toString(),
    app,
    admin,
    identity,
    async close() {
      await Promise.all([app.close(), admin.close(), identity.close()]);
    },
  };
}
