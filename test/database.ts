import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { secureDatabase } from '../db/bootstrap.ts';
import { connect } from '../db/connection.ts';
import { createDatabase } from '../db/tenant.ts';
import { TEMPLATE_DATABASE } from './global-setup.ts';

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

function withDatabase(url: string, database: string) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database cloned from the migrated template, for one test file. */
export async function createTestDatabase(options: { appPoolMax?: number } = {}): Promise<TestDatabase> {
  const pg = inject('postgres');
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

  const base = `postgres://localhost:${pg.port}/${name}`;
  const login = (user: string, password: string) => {
    const u = new URL(base);
    u.username = user;
    u.password = password;
    return u.toString();
  };
  const appUrl = login('kommit_app', pg.passwords.app);
  const adminUrl = login('beheerder', pg.passwords.admin);
  const authUrl = login('kommit_auth', pg.passwords.auth);
  const app = createDatabase(appUrl, { ca: pg.ca, max: options.appPoolMax ?? 5 });
  const admin = createDatabase(adminUrl, { ca: pg.ca, max: 3 });
  const identity = createDatabase(authUrl, { ca: pg.ca, max: 2 });
  return {
    name,
    ca: pg.ca,
    appUrl,
    adminUrl,
    authUrl,
    superuserUrl: withDatabase(pg.superuserUrl, name),
    app,
    admin,
    identity,
    async close() {
      await Promise.all([app.close(), admin.close(), identity.close()]);
    },
  };
}
