import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { roleNamesFromEnv, type RoleNames } from './roles.ts';
import { portSetting } from './settings.ts';

export interface DatabaseTarget {
  appUrl: string;
  /** Better Auth's connection (kommit_auth); the server needs it, operator CLIs do not. */
  authUrl?: string;
  /** Better Auth's signing secret, when this target provides one (the embedded default does). */
  authSecret?: string;
  /** Ed25519 private key (PEM) for audit checkpoints, when this target provides one (the embedded default does). */
  auditSigningKey?: string;
  /** Key sealing stored secrets (32 bytes, base64), when this target provides one (the embedded default does). */
  secretKey?: string;
  /** The admin console's Better Auth secret, when this target provides one (the embedded default does). */
  operatorAuthSecret?: string;
  /** Absent when only DATABASE_URL is configured: then nothing here migrates. */
  adminUrl?: string;
  /** CA for the embedded server; external servers use sslrootcert / PGSSLROOTCERT. */
  ca?: string;
  roles: RoleNames;
  embedded: boolean;
  /** Stops what this process started (the embedded server), if anything. */
  stop(): Promise<void>;
}

interface Credentials {
  superuser: string;
  app: string;
  admin: string;
  auth: string;
  authSecret: string;
  auditSigningKey: string;
  secretKey: string;
  operatorAuthSecret: string;
}

const DATABASE_NAME = 'kommit';

/** Passwords of the embedded default, generated on first use; roles added later get theirs then. */
function loadCredentials(file: string): Credentials {
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Credentials>) : {};
  const secret = () => randomBytes(24).toString('base64url');
  const credentials: Credentials = {
    superuser: stored.superuser ?? secret(),
    app: stored.app ?? secret(),
    admin: stored.admin ?? secret(),
    auth: stored.auth ?? secret(),
    authSecret: stored.authSecret ?? randomBytes(32).toString('base64url'),
    auditSigningKey:
      stored.auditSigningKey ?? generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    secretKey: stored.secretKey ?? randomBytes(32).toString('base64'),
    operatorAuthSecret: stored.operatorAuthSecret ?? randomBytes(32).toString('base64url'),
  };
  if (JSON.stringify(stored) !== JSON.stringify(credentials)) {
    writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  }
  return credentials;
}

function postmasterRunning(dataDir: string) {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the database is. With DATABASE_URL set, that server (and
 * ADMIN_DATABASE_URL for migrations). Otherwise the embedded default under
 * KOMMIT_DATA_DIR (.data): started here unless another Kommit process on this
 * checkout already runs it, its roles bootstrapped and its schema migrated.
 */
export async function resolveDatabase(options: { log: (line: string) => void; migrate: boolean }): Promise<DatabaseTarget> {
  const env = process.env;
  const roles = roleNamesFromEnv(env);
  if (env.DATABASE_URL) {
    const target = {
      appUrl: env.DATABASE_URL,
      authUrl: env.AUTH_DATABASE_URL,
      adminUrl: env.ADMIN_DATABASE_URL,
      roles,
      embedded: false,
      stop: async () => {},
    };
    if (options.migrate && target.adminUrl) {
      const { migrateDatabase } = await import('./migrate.ts');
      await migrateDatabase(target.adminUrl);
      options.log('migrations applied');
    }
    return target;
  }

  const root = path.resolve(env.KOMMIT_DATA_DIR ?? '.data');
  mkdirSync(root, { recursive: true });
  const credentials = loadCredentials(path.join(root, 'credentials.json'));
  const port = portSetting(env, 'KOMMIT_EMBEDDED_PG_PORT', 54320);
  const dataDir = path.join(root, 'postgres');
  const url = (user: string, password: string) =>
    `postgres://${user}:${encodeURIComponent(password)}@localhost:${port}/${DATABASE_NAME}`;
  const appUrl = url(roles.app, credentials.app);
  const adminUrl = url(roles.admin, credentials.admin);
  const authUrl = url(roles.auth, credentials.auth);

  if (postmasterRunning(dataDir)) {
    options.log(`using the embedded Postgres already running on port ${port}`);
    const ca = readFileSync(`${dataDir}-ca.pem`, 'utf8');
    return { appUrl, authUrl, adminUrl, ca, roles, authSecret: credentials.authSecret, auditSigningKey: credentials.auditSigningKey, secretKey: credentials.secretKey, operatorAuthSecret: credentials.operatorAuthSecret, embedded: true, stop: async () => {} };
  }

  options.log(`starting embedded Postgres on port ${port} (data in ${path.relative(process.cwd(), dataDir) || dataDir})`);
  // The embedded server, its bootstrap and the migrations (and the packages they
  // use: TLS certificates, the job queue's schema) are loaded only when needed;
  // a production process connects to its database and loads none of them.
  const [{ startEmbeddedPostgres }, { bootstrapDatabase }, { migrateDatabase }] = await Promise.all([
    import('./embedded.ts'),
    import('./bootstrap.ts'),
    import('./migrate.ts'),
  ]);
  const cluster = await startEmbeddedPostgres({ dataDir, port, superuserPassword: credentials.superuser });
  try {
    await bootstrapDatabase({ superuserUrl: cluster.superuserUrl, appUrl, adminUrl, authUrl, ca: cluster.ca });
    if (options.migrate) {
      await migrateDatabase(adminUrl, cluster.ca);
      options.log('migrations applied');
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    appUrl,
    authUrl,
    adminUrl,
    ca: cluster.ca,
    roles,
    authSecret: credentials.authSecret,
    auditSigningKey: credentials.auditSigningKey,
    secretKey: credentials.secretKey,
    operatorAuthSecret: credentials.operatorAuthSecret,
    embedded: true,
    stop: () => cluster.stop(),
  };
}
