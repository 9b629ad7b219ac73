import { serve } from '@hono/node-server';
import pino from 'pino';
import { assertAppConnection, BootCheckError } from './db/boot-checks.ts';
import { resolveDatabase } from './db/runtime.ts';
import { createDatabase } from './db/tenant.ts';
import { selectFunctions } from './functions/index.ts';
import { httpConfigFromEnv } from './middleware/config.ts';
import { createPlatformApp } from './middleware/platform-app.ts';

/**
 * Node entry: finds the database (embedded by default), checks the request
 * role, and serves the selected function modules on one HTTP server.
 */
async function main() {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'kommit' } });
  const log = (line: string) => logger.info(line);
  const config = httpConfigFromEnv();
  const functions = selectFunctions(process.env.FUNCTIONS);
  // Production releases migrate once, as a separate step, before new versions start.
  const target = await resolveDatabase({ log, migrate: !config.production });

  const database = createDatabase(target.appUrl, {
    ca: target.ca,
    max: Number(process.env.DB_POOL_MAX ?? 10),
    applicationName: 'kommit-app',
    statementTimeoutSeconds: 30,
  });
  try {
    await assertAppConnection(database.sql, target.roles);
  } catch (error) {
    await database.close();
    await target.stop();
    throw error;
  }

  const names = functions.map((fn) => fn.functionName);
  const app = createPlatformApp({ database, config, logger, functions: names, ready: () => true }, functions);
  const port = Number(process.env.PORT ?? 8787);
  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '0.0.0.0' }, () => {
    logger.info({ functions: names }, `Kommit is serving http://localhost:${port} (API reference at /docs)`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: draining requests and stopping`);
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
  process.stderr.write(`kommit: ${message}\n`);
  process.exit(1);
});
