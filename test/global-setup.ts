import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bootstrapDatabase } from '../db/bootstrap.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { freePort } from './ports.ts';

export const TEMPLATE_DATABASE = 'kommit_template';

export interface TestPostgres {
  port: number;
  ca: string;
  superuserUrl: string;
  passwords: { app: string; admin: string; auth: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: TestPostgres;
  }
}

// Prepared once per run: starting and migrating a server costs about a second,
// cloning the migrated template costs a few milliseconds per test file.
export default async function setup(project: TestProject) {
  const root = await mkdtemp(path.join(tmpdir(), 'kommit-test-'));
  // Postgres runs as the `postgres` user when we are root; it must reach its data directory.
  await chmod(root, 0o755);
  const port = await freePort();
  const secret = () => randomBytes(18).toString('base64url');
  const passwords = { app: secret(), admin: secret(), auth: secret() };
  const cluster = await startEmbeddedPostgres({
    dataDir: path.join(root, 'pg'),
    port,
    superuserPassword: secret(),
    persistent: false,
  });
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

  project.provide('postgres', { port, ca: cluster.ca!, superuserUrl: cluster.superuserUrl, passwords });
  return async () => {
    await cluster.stop();
    await rm(root, { recursive: true, force: true });
  };
}
