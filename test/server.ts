import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { signerFromPem } from '../db/audit/checkpoint.ts';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { ExtractiveAnswerer, type Answerer } from '../db/search/answerer.ts';
import { LocalHashEmbedder, type Embedder } from '../db/search/embedder.ts';
import { createDatabase, type Database } from '../db/tenant.ts';
import { selectFunctions } from '../functions/index.ts';
import { DEFAULT_SIGN_IN_LIMITS, DEFAULT_WEBHOOK_LIMITS, DEFAULT_WIDGET_LIMITS, HTTP_SERVER_OPTIONS, type HttpConfig } from '../middleware/config.ts';
import type { FunctionApp } from '../middleware/function-app.ts';
import { NO_REQUEST_LIMITS } from '../middleware/request-limits.ts';
import type { VectorScoring } from '../db/search/index.ts';
import { createPlatform } from '../middleware/platform.ts';
import { createPlatformApp } from '../middleware/platform-app.ts';
import type { TestDatabase } from './database.ts';

/** The key sealing webhook secrets in tests (what WEBHOOK_SECRET_KEY is in production). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** The platform app's test server. */
export interface PlatformTestServer extends TestServer {
  /**
   * The same app without the socket, as from loopback: for a test that paces
   * how it reads a response body (over a socket, the server and the kernel's
   * buffers read megabytes ahead of the client).
   */
  request(path: string, init?: RequestInit): Promise<Response>;
}

export interface TestServerOptions {
  config?: Partial<HttpConfig>;
  functions?: FunctionApp[];
  ready?: () => boolean;
  /** Replaces the app role's pool (to test a database that went away). */
  database?: Database;
  /** Replaces the auth role's pool. */
  authDatabase?: Database;
  /** Checkpoint every N audit appends (default 100). */
  checkpointEvery?: number;
  /** The platform's embedder (the local one otherwise). */
  embedder?: Embedder;
  /** The widget's answerer (the extractive one otherwise). */
  answerer?: Answerer;
  /** Forces how search compares vectors (pgvector where the database has it otherwise). */
  vectorScoring?: VectorScoring;
  /** The platform helpdesk's widget key, which puts the widget on console pages. */
  platformWidgetKey?: string;
  /** Receives the JSON log lines (silent otherwise). */
  log?: (line: string) => void;
}

/**
 * The platform app on a real HTTP server on loopback, so tests go through the
 * same socket-level facts (peer address, TLS or not) as production requests.
 */
export async function startTestServer(db: TestDatabase, options: TestServerOptions = {}): Promise<PlatformTestServer> {
  const functions = options.functions ?? selectFunctions(undefined);
  const authDatabase = options.authDatabase ?? createDatabase(db.authUrl, { ca: db.ca, max: 3 });
  let server: ReturnType<typeof serve> | undefined;
  // The origin is only known once listening; the platform reads config.baseURL per request.
  const config: HttpConfig = {
    production: false,
    trustedProxies: [],
    maxBodyBytes: 64 * 1024,
    baseURL: 'http://127.0.0.1',
    signInLimits: DEFAULT_SIGN_IN_LIMITS,
    webhooks: DEFAULT_WEBHOOK_LIMITS,
    // Off unless a test is about them: tests and benchmarks send bursts from one address.
    requestLimits: NO_REQUEST_LIMITS,
    widget: DEFAULT_WIDGET_LIMITS,
    ...options.config,
  };
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: (request, env) => app.fetch(request, env), port: 0, hostname: '127.0.0.1', serverOptions: HTTP_SERVER_OPTIONS }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  if (!options.config?.baseURL) config.baseURL = url;
  const platform = createPlatform({
    database: options.database ?? db.app,
    authDatabase,
    config,
    logger: options.log
      ? pino({ level: 'debug' }, { write: (line: string) => options.log!(line) })
      : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    authSecret: 'test-secret-that-is-long-enough-for-better-auth',
    secretKey: TEST_SECRET_KEY,
    auditSigner: signerFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), {
      keyName: 'kommit-test',
      everyAppends: options.checkpointEvery ?? 100,
      everyMinutes: 60,
    }),
    functions: functions.map((fn) => fn.functionName),
    embedder: options.embedder ?? new LocalHashEmbedder(),
    answerer: options.answerer ?? new ExtractiveAnswerer(),
    vectorScoring: options.vectorScoring,
    platformWidgetKey: options.platformWidgetKey,
    ready: options.ready ?? (() => true),
  });
  const app = createPlatformApp(platform, functions);
  return {
    url,
    request: async (path, init) => app.fetch(new Request(url + path, init), { incoming: { socket: { remoteAddress: '127.0.0.1', encrypted: false } } } as never),
    async close() {
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      if (!options.authDatabase) await authDatabase.close();
    },
  };
}

