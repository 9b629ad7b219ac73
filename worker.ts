import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import pino, { type Logger } from 'pino';
import { createWorkerMetrics } from './db/jobs/metrics.ts';
import type { KommitWorker } from './db/jobs/worker.ts';
import { BootCheckError } from './db/boot-checks.ts';
import { resolveDatabase } from './db/runtime.ts';
import { launchWorker } from './functions/jobs.ts';
import { httpConfigFromEnv } from './middleware/config.ts';

/**
 * Worker entry (`npm run worker`): runs the background jobs as beheerder
 * (ADMIN_DATABASE_URL, or the embedded default). `npm start` runs the same
 * worker in its own process when it uses the embedded default.
 */
async function main() {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'kommit-worker' } });
  const config = httpConfigFromEnv();
  // Migrated by launchWorker, once the connection is known to be beheerder's.
  const target = await resolveDatabase({ log: (line) => logger.info(line), migrate: false });
  if (!target.adminUrl) throw new Error('ADMIN_DATABASE_URL (role beheerder) must be set for the worker');
  let worker;
  try {
    worker = await launchWorker({ adminUrl: target.adminUrl, ca: target.ca, roles: target.roles, logger, migrate: !config.production, concurrency: Number(process.env.WORKER_CONCURRENCY ?? 4) });
  } catch (error) {
    await target.stop();
    throw error;
  }
  const metricsServer = serveMetrics(worker, logger);
  logger.info('worker running');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing jobs in hand and stopping`);
    metricsServer?.close();
    await worker.stop();
    await target.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** With METRICS_PORT and METRICS_TOKEN set, the queue's depth for Prometheus (bearer token required). */
function serveMetrics(worker: KommitWorker, logger: Logger) {
  const port = Number(process.env.METRICS_PORT ?? 0);
  const token = process.env.METRICS_TOKEN?.trim();
  if (!port || !token) return undefined;
  const registry = createWorkerMetrics(worker.database);
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

main().catch((error: unknown) => {
  const message = error instanceof BootCheckError ? error.message : `worker failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`kommit-worker: ${message}\n`);
  process.exit(1);
});
