import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { createWorkerMetrics } from './db/jobs/metrics.ts';
import { signerFromEnv } from './db/audit/checkpoint.ts';
import { BootCheckError } from './db/boot-checks.ts';
import { roleNamesFromEnv } from './db/roles.ts';
import { resolveDatabase } from './db/runtime.ts';
import { launchWorker } from './functions/jobs.ts';
import type { KommitWorker } from './db/jobs/worker.ts';
import { httpConfigFromEnv } from './middleware/config.ts';
import { cliArgs } from './db/cli/run.ts';
import { workerConcurrencyFromEnv } from './db/jobs/concurrency.ts';
import { portSetting } from './db/settings.ts';

/**
 * Worker entry (`npm run worker`): runs the background jobs as beheerder
 * (ADMIN_DATABASE_URL, or the embedded default). `npm start` runs the same
 * worker in its own process when it uses the embedded default.
 */
async function main() {
  // Configured by environment only: an argument given is a mistake, not ignored.
  cliArgs({ options: {} }, 'usage: npm run worker   (configured by environment: ADMIN_DATABASE_URL, WORKER_CONCURRENCY, HEALTH_PORT, ...)');
  // Every setting is checked before anything starts.
  const concurrency = workerConcurrencyFromEnv();
  const healthPort = portSetting(process.env, 'HEALTH_PORT', 0, true);
  const metricsPort = portSetting(process.env, 'METRICS_PORT', 0, true);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'kommit-worker' } });
  const config = httpConfigFromEnv();
  // Migrated by launchWorker, once the connection is known to be beheerder's.
  // ADMIN_DATABASE_URL is all a deployed worker gets (it never connects as
  // kommit_app); without it, the embedded default.
  const target = process.env.ADMIN_DATABASE_URL
    ? { adminUrl: process.env.ADMIN_DATABASE_URL, ca: undefined, roles: roleNamesFromEnv(), stop: async () => {} }
    : await resolveDatabase({ log: (line) => logger.info(line), migrate: false });
  if (!target.adminUrl) throw new Error('ADMIN_DATABASE_URL (role beheerder) must be set for the worker');
  let worker;
  try {
    // The same key as the server's: checkpoints over rows the worker appends (webhook deliveries, scheduled evidence).
    const auditKey = process.env.AUDIT_SIGNING_KEY ?? ('auditSigningKey' in target ? target.auditSigningKey : undefined);
    if (!auditKey) logger.warn('AUDIT_SIGNING_KEY is not set: audit rows the worker appends get no signed checkpoints');
    const auditSigner = auditKey ? signerFromEnv(auditKey) : undefined;
    worker = await launchWorker({ adminUrl: target.adminUrl, ca: target.ca, roles: target.roles, logger, auditSigner, migrate: !config.production, concurrency });
  } catch (error) {
    await target.stop();
    throw error;
  }
  const metricsServer = serveMetrics(worker, logger, metricsPort);
  logger.info('worker running');
  const health = healthPort ? await serveHealth(worker, healthPort) : undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing jobs in hand and stopping`);
    metricsServer?.close();
    health?.close();
    await worker.stop();
    await target.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // The liveness connection is gone (launchWorker does not restart that): other
  // workers may already be running this one's jobs again, and only ending the
  // process stops its own copies at once. The supervisor starts a fresh one.
  void worker.ended.then((error) => {
    if (stopping || !error) return;
    logger.fatal({ err: error }, 'exiting: this worker can no longer prove it is alive');
    // Not worker.stop(): that would finish the jobs in hand. An embedded
    // Postgres this process started is stopped, not left behind.
    void target.stop().catch(() => {}).finally(() => process.exit(1));
  });
}

/** With METRICS_PORT and METRICS_TOKEN set, the queue's depth for Prometheus (bearer token required). */
function serveMetrics(worker: KommitWorker, logger: Logger, port: number) {
  const token = process.env.METRICS_TOKEN?.trim();
  if (!port || !token) return undefined;
  const registry = createWorkerMetrics(() => worker.database);
  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((request, response) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (request.url !== '/metrics' || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        logger.warn({ err: error }, 'metrics failed');
        response.writeHead(503).end();
      },
    );
  });
  server.listen(port, () => logger.info(`worker metrics on :${port}/metrics`));
  return server;
}

/**
 * GET /health for the container health check (HEALTH_PORT; the image's
 * HEALTHCHECK calls it): 200 while the worker runs and its database answers.
 * Nothing else is served.
 */
async function serveHealth(worker: KommitWorker, port: number) {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404).end();
      return;
    }
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, 2000, false).unref());
    void Promise.race([worker.database.sql`select 1`.then(() => true, () => false), timeout]).then((ok) => {
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', service: 'worker' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, process.env.HOST ?? '0.0.0.0', resolve));
  return server;
}

main().catch((error: unknown) => {
  const message = error instanceof BootCheckError ? error.message : `worker failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`kommit-worker: ${message}\n`);
  process.exit(1);
});
