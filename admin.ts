import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createOperatorAuth } from './auth/operators.ts';
import { signerFromEnv } from './db/audit/checkpoint.ts';
import { BootCheckError } from './db/boot-checks.ts';
import { cliArgs } from './db/cli/run.ts';
import { roleNamesFromEnv } from './db/roles.ts';
import { portSetting, wholeNumberSetting } from './db/settings.ts';
import { resolveDatabase } from './db/runtime.ts';
import { createDatabase } from './db/tenant.ts';
import { createAdminApp } from './functions/admin/index.tsx';
import { CLIENT_ADDRESS_HEADER, compileRanges } from './middleware/addresses.ts';
import { HTTP_SERVER_OPTIONS, httpConfigFromEnv } from './middleware/config.ts';
import { createSignInLimiter } from './middleware/sign-in-limit.ts';

/**
 * Admin console entry (`npm run admin`): its own process and service, on the
 * admin role only (ADMIN_DATABASE_URL, or the embedded default). `npm start`
 * runs it next to the public server on the embedded default, on
 * http://localhost:8788/admin.
 */
async function main() {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'kommit-admin' } });
  // Configured by environment only: an argument given is a mistake, and every setting is checked before anything starts.
  cliArgs({ options: {} }, 'usage: npm run admin   (configured by environment: ADMIN_DATABASE_URL, ADMIN_PORT, ADMIN_AUTH_SECRET, ...)');
  const port = portSetting(process.env, 'ADMIN_PORT', 8788, true);
  const poolMax = wholeNumberSetting(process.env, 'ADMIN_DB_POOL_MAX', 4, { min: 1 });
  const config = { ...httpConfigFromEnv(), baseURL: process.env.ADMIN_BASE_URL ?? `http://localhost:${port}` };
  // Like the worker: a deployed admin console gets the admin URL and nothing else.
  const target = process.env.ADMIN_DATABASE_URL
    ? { adminUrl: process.env.ADMIN_DATABASE_URL, ca: undefined, roles: roleNamesFromEnv(), operatorAuthSecret: undefined, auditSigningKey: undefined, stop: async () => {} }
    : await resolveDatabase({ log: (line) => logger.info(line), migrate: !config.production });
  if (!target.adminUrl) throw new Error('ADMIN_DATABASE_URL (role beheerder) must be set for the admin console');
  const secret = process.env.ADMIN_AUTH_SECRET ?? target.operatorAuthSecret;
  if (!secret && config.production) throw new Error('ADMIN_AUTH_SECRET must be set in production');
  if (!secret) logger.warn('ADMIN_AUTH_SECRET is not set: operator sessions will not survive a restart');
  // The server's audit key: it signs checkpoints of the platform chain and of the organizations' chains operators append to.
  const auditKey = process.env.AUDIT_SIGNING_KEY ?? target.auditSigningKey;
  if (!auditKey && config.production) throw new Error('AUDIT_SIGNING_KEY must be set in production');
  const auditSigner = auditKey ? signerFromEnv(auditKey) : undefined;
  if (!auditSigner) logger.warn('AUDIT_SIGNING_KEY is not set: the platform audit chain gets no signed checkpoints');
  const database = createDatabase(target.adminUrl, { ca: target.ca, max: poolMax, statementTimeoutSeconds: 60, applicationName: 'kommit-admin' });
  let app;
  try {
    const auth = createOperatorAuth({
      db: database.db,
      baseURL: config.baseURL,
      secret: secret ?? randomBytes(32).toString('base64url'),
      production: config.production,
      clientIpHeader: CLIENT_ADDRESS_HEADER,
    });
    app = await createAdminApp({ database, auth, config, logger, trustedProxyRanges: compileRanges(config.trustedProxies), signInLimiter: createSignInLimiter(config.signInLimits), auditSigner }, target.roles);
  } catch (error) {
    await database.close();
    await target.stop();
    throw error;
  }
  const server = serve({ fetch: app.fetch, port, hostname: process.env.ADMIN_HOST ?? '0.0.0.0', serverOptions: HTTP_SERVER_OPTIONS }, () => {
    logger.info(`Kommit admin console on ${config.baseURL}/admin`);
  });
  // Taken since the check (or by another program): one line, not Node's unhandled 'error' event and its stack.
  server.once('error', (error: NodeJS.ErrnoException) => {
    const reason = error.code === 'EADDRINUSE' ? `port ${port} is in use; set ADMIN_PORT to use another` : error.message;
    process.stderr.write(`kommit-admin: failed to start: ${reason}\n`);
    void Promise.allSettled([database.close(), target.stop()]).then(() => process.exit(1));
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping the admin console`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
    await target.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof BootCheckError ? error.message : `failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`kommit-admin: ${message}\n`);
  process.exit(1);
});
