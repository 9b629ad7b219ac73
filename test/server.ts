import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino from 'pino';
import type { Database } from '../db/tenant.ts';
import { selectFunctions } from '../functions/index.ts';
import type { HttpConfig } from '../middleware/config.ts';
import type { FunctionApp } from '../middleware/function-app.ts';
import { createPlatformApp } from '../middleware/platform-app.ts';

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The platform app on a real HTTP server on loopback, so tests go through the
 * same socket-level facts (peer address, TLS or not) as production requests.
 */
export async function startTestServer(
  database: Database,
  options: { config?: Partial<HttpConfig>; functions?: FunctionApp[]; ready?: () => boolean } = {},
): Promise<TestServer> {
  const config: HttpConfig = { production: false, trustedProxies: [], maxBodyBytes: 64 * 1024, ...options.config };
  const functions = options.functions ?? selectFunctions(undefined);
  const app = createPlatformApp(
    {
      database,
      config,
      logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      functions: functions.map((fn) => fn.functionName),
      ready: options.ready ?? (() => true),
    },
    functions,
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
