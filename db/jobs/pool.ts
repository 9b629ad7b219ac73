import pg from 'pg';
import { connectionOptions } from '../connection.ts';

/**
 * node-postgres settings for the job queue's connections, with the same TLS
 * decisions (sslmode, sslrootcert, certificate and host name checks) as our
 * own postgres.js connections.
 */
export function jobConnectionConfig(databaseUrl: string, options: { ca?: string; applicationName?: string } = {}) {
  const { url, options: pgOptions } = connectionOptions(databaseUrl, options);
  return {
    connectionString: url,
    ssl: pgOptions.ssl === 'prefer' ? { rejectUnauthorized: false } : pgOptions.ssl,
    application_name: options.applicationName ?? 'kommit-worker',
    connectionTimeoutMillis: 10_000,
  } satisfies pg.ClientConfig;
}

/** A node-postgres pool for the job queue library. */
export function createJobPool(databaseUrl: string, options: { ca?: string; max?: number; applicationName?: string; onError?: (error: Error) => void } = {}) {
  const pool = new pg.Pool({
    ...jobConnectionConfig(databaseUrl, options),
    max: options.max ?? 4,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server (a restart, a failover) must not
  // crash the process: the pool replaces it, and in-flight work sees the error.
  pool.on('error', (error) => options.onError?.(plainError(error)));
  pool.on('connect', (client) => client.on('error', (error) => options.onError?.(plainError(error))));
  return pool;
}

/**
 * The error without what node-postgres hangs on it: it carries the whole
 * client (connection parameters, TLS options, prepared statements), which a
 * logger would otherwise write out line after line.
 */
function plainError(error: Error & { code?: string }) {
  return Object.assign(new Error(error.message), { name: error.name, code: error.code });
}
