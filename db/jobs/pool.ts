import pg from 'pg';
import { connectionOptions } from '../connection.ts';

/**
 * A node-postgres pool for the job queue library, with the same TLS decisions
 * (sslmode, sslrootcert, certificate and host name checks) as our own
 * postgres.js connections.
 */
export function createJobPool(databaseUrl: string, options: { ca?: string; max?: number; applicationName?: string; onError?: (error: Error) => void } = {}) {
  const { url, options: pgOptions } = connectionOptions(databaseUrl, options);
  const ssl = pgOptions.ssl === 'prefer' ? { rejectUnauthorized: false } : pgOptions.ssl;
  const pool = new pg.Pool({
    connectionString: url,
    ssl,
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'kommit-worker',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server (a restart, a failover) must not
  // crash the process: the pool replaces it, and in-flight work sees the error.
  pool.on('error', (error) => options.onError?.(error));
  pool.on('connect', (client) => client.on('error', (error) => options.onError?.(error)));
  return pool;
}
