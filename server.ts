import { createServer as createNetServer } from 'node:net';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { checkpointCadenceFromEnv, signerFromPem } from './db/audit/checkpoint.ts';
import { assertConnection, BootCheckError, checkAppConnection, checkAuthConnection } from './db/boot-checks.ts';
import { resolveDatabase, type DatabaseTarget } from './db/runtime.ts';
import { createDatabase } from './db/tenant.ts';
import { loadFunctions } from './functions/registry.ts';
import { superviseWorkerProcess } from './db/jobs/process.ts';
import { workerConcurrencyFromEnv } from './db/jobs/concurrency.ts';
import { portSetting, wholeNumberSetting } from './db/settings.ts';
import { embedderFromEnv } from './db/search/remote-embedder.ts';
import { answererFromEnv } from './db/search/answerer.ts';
import { existsSync } from 'node:fs';
import { HTTP_SERVER_OPTIONS, httpConfigFromEnv } from './middleware/config.ts';
import { createPlatform } from './middleware/platform.ts';
import { createPlatformApp } from './middleware/platform-app.ts';

/**
 * Node entry: finds the database (embedded by default), checks the request and
 * auth roles, and serves the selected function modules on one HTTP server.
 */
async function main() {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'kommit' } });
  const log = (line: string) => logger.info(line);
  const config = httpConfigFromEnv();
  // Before anything starts (the database, the worker, the helpdesk import):
  // a second `npm start` would otherwise get that far and then fail to listen.
  const port = portSetting(process.env, 'PORT', 8787, true);
  await assertPortFree(port, process.env.HOST ?? '0.0.0.0', 'PORT');
  if (!process.env.DATABASE_URL && process.env.KOMMIT_ADMIN !== 'off') {
    const adminPort = portSetting(process.env, 'ADMIN_PORT', 8788);
    // Free now, but the server takes it first and the console would then fail over and over.
    if (adminPort === port) throw new Error(`PORT and ADMIN_PORT are both ${port}: the admin console needs a port of its own`);
    await assertPortFree(adminPort, process.env.ADMIN_HOST ?? '127.0.0.1', 'ADMIN_PORT');
  }
  // The worker this starts on the embedded default reads WORKER_CONCURRENCY; a
  // bad value would otherwise fail it over and over while the server runs on.
  if (!process.env.DATABASE_URL && process.env.KOMMIT_WORKER !== 'off') workerConcurrencyFromEnv();
  // The rest of the settings, read now so that a malformed one stops the start in one line, not a started database.
  const poolMax = wholeNumberSetting(process.env, 'DB_POOL_MAX', 10, { min: 1 });
  const queueTimeoutMs = wholeNumberSetting(process.env, 'DB_QUEUE_TIMEOUT_MS', 2000);
  const authPoolMax = wholeNumberSetting(process.env, 'AUTH_DB_POOL_MAX', 5, { min: 1 });
  const checkpointCadence = checkpointCadenceFromEnv();
  const embedder = embedderFromEnv();
  const answerer = answererFromEnv();
  // Only the mounted functions are loaded: a process serving one carries no other's code.
  const functions = await loadFunctions(process.env.FUNCTIONS);
  // Production releases migrate once, as a separate step, before new versions start.
  const target = await resolveDatabase({ log, migrate: !config.production });
  // From here on an embedded database is running: a refusal stops it before it ends the process.
  let secrets: ReturnType<typeof platformSecrets>;
  try {
    secrets = platformSecrets(target, config.production, logger, checkpointCadence);
  } catch (error) {
    await target.stop();
    throw error;
  }
  const { authUrl, authSecret, secretKey, auditSigner } = secrets;

  const pool = { ca: target.ca, statementTimeoutSeconds: 30 };
  const database = createDatabase(target.appUrl, {
    ...pool,
    max: poolMax,
    queueTimeoutMs,
    applicationName: 'kommit-app',
  });
  const authDatabase = createDatabase(authUrl, { ...pool, max: authPoolMax, applicationName: 'kommit-auth' });
  let worker: ReturnType<typeof superviseWorkerProcess> | undefined;
  let adminConsole: ReturnType<typeof superviseWorkerProcess> | undefined;
  let platformWidgetKey: string | undefined;
  const closeAll = async () => {
    await Promise.all([worker?.stop(), adminConsole?.stop()]);
    await Promise.all([database.close(), authDatabase.close()]);
    await target.stop();
  };
  try {
    await assertConnection(checkAppConnection(database.sql, target.roles));
    await assertConnection(checkAuthConnection(authDatabase.sql, target.roles));
    // On the embedded default one `npm start` is the whole platform, worker
    // included; with an external database the worker runs as its own service.
    // It runs as a child process (restarted if it dies) next to this one.
    if (target.embedded && target.adminUrl && process.env.KOMMIT_WORKER !== 'off') {
      const entry = fileURLToPath(new URL(`./worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));
      worker = superviseWorkerProcess({ entry, env: process.env, logger });
      logger.info('background worker started in its own process');
    }
    // The admin console is never mounted here; on the embedded default it runs
    // as its own process on the admin role, reachable from this machine only.
    if (target.embedded && target.adminUrl && process.env.KOMMIT_ADMIN !== 'off') {
      const entry = fileURLToPath(new URL(`./admin${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));
      adminConsole = superviseWorkerProcess({ entry, env: { ADMIN_HOST: '127.0.0.1', ...process.env }, logger, name: 'admin console' });
    }
    // Kommit's own helpdesk, answered by the widget on the console pages.
    if (target.embedded && target.adminUrl && process.env.KOMMIT_PLATFORM_HELPDESK !== 'off') {
      platformWidgetKey = await loadPlatformHelpdesk(target.adminUrl, target.ca, new URL(config.baseURL).origin, logger);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  const names = functions.map((fn) => fn.functionName);
  const platform = createPlatform({
    database,
    authDatabase,
    config,
    logger,
    authSecret: authSecret ?? randomBytes(32).toString('base64url'),
    secretKey: secretKey ?? randomBytes(32).toString('base64'),
    auditSigner,
    functions: names,
    embedder,
    answerer,
    platformWidgetKey,
    ready: () => true,
  });
  const app = createPlatformApp(platform, functions);
  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '0.0.0.0', serverOptions: HTTP_SERVER_OPTIONS }, () => {
    logger.info({ functions: names }, `Kommit is serving http://localhost:${port} (API reference at /docs, console at /console)`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: draining requests and stopping`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeAll();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** The secrets and keys the server needs, from the environment or what the embedded default generated; production requires them set. */
function platformSecrets(target: DatabaseTarget, production: boolean, logger: pino.Logger, cadence: ReturnType<typeof checkpointCadenceFromEnv>) {
  if (!target.authUrl) throw new Error('AUTH_DATABASE_URL (role kommit_auth) must be set along with DATABASE_URL');
  const authSecret = process.env.BETTER_AUTH_SECRET ?? target.authSecret;
  if (!authSecret && production) throw new Error('BETTER_AUTH_SECRET must be set in production');
  if (!authSecret) logger.warn('BETTER_AUTH_SECRET is not set: sessions will not survive a restart');
  const auditKey = process.env.AUDIT_SIGNING_KEY ?? target.auditSigningKey;
  if (!auditKey && production) throw new Error('AUDIT_SIGNING_KEY (Ed25519 private key, PEM) must be set in production');
  if (!auditKey) logger.warn('AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a key that dies with this process');
  const secretKey = process.env.WEBHOOK_SECRET_KEY ?? target.secretKey;
  if (!secretKey && production) throw new Error('WEBHOOK_SECRET_KEY (32 bytes, base64) must be set in production');
  if (!secretKey) logger.warn('WEBHOOK_SECRET_KEY is not set: webhook secrets sealed now cannot be opened after a restart');
  const auditSigner = signerFromPem(auditKey ?? generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), cadence);
  return { authUrl: target.authUrl, authSecret, secretKey, auditSigner };
}

/** Imports helpdesk/*.md into the platform organization; a failure costs the console its widget, not the start. */
async function loadPlatformHelpdesk(adminUrl: string, ca: string | undefined, consoleOrigin: string, logger: pino.Logger) {
  const admin = createDatabase(adminUrl, { ca, max: 1, applicationName: 'kommit-helpdesk-import' });
  try {
    // Beside server.ts when run from source; from the working directory when bundled into dist/.
    const beside = fileURLToPath(new URL('./helpdesk', import.meta.url));
    const dir = existsSync(beside) ? beside : path.resolve('helpdesk');
    // Loaded here: only the embedded default imports the helpdesk.
    const { ensurePlatformHelpdesk } = await import('./db/platform-helpdesk.ts');
    const { publicKey, imported } = await ensurePlatformHelpdesk(admin, { dir, consoleOrigin });
    logger.info({ ...imported }, 'platform helpdesk imported; the console carries its widget');
    return publicKey;
  } catch (error) {
    logger.warn({ err: error }, 'platform helpdesk not loaded; the console runs without its widget');
    return undefined;
  } finally {
    await admin.close();
  }
}

/** Fails with one line when something already listens on port (another `npm start`, say). */
async function assertPortFree(port: number, host: string, variable: string) {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use (is another npm start running?); set ${variable} to use another`) : error),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

main().catch((error: unknown) => {
  const message = error instanceof BootCheckError ? error.message : `failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`kommit: ${message}\n`);
  process.exit(1);
});

