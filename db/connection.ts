import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import postgres from 'postgres';
import { SESSION_TIME_ZONE } from './timestamps.ts';

/**
 * Turns a libpq-style URL into postgres.js options with TLS decided by us, not by
 * defaults: unless the URL says otherwise we verify the server certificate and its
 * host name against the CA named by `sslrootcert` in the URL or PGSSLROOTCERT.
 */
export interface ConnectOptions {
  max?: number;
  /** CA certificate (PEM) used when the URL and environment name none. */
  ca?: string;
  applicationName?: string;
  /** Seconds a statement may run before Postgres cancels it. */
  statementTimeoutSeconds?: number;
  /** Seconds a transaction may sit idle before Postgres ends the session (default 15): a stuck request cannot hold a connection. */
  idleInTransactionSeconds?: number;
  /** Keep connections open however long they sit idle or live (a connection holding session locks). */
  keepOpen?: boolean;
  /** Called for every statement sent, with its parameters (benchmarks count round trips with it, tests plan what routes send). */
  onQuery?: (query: string, parameters: unknown[]) => void;
}

type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES = new Set<SslMode>(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

export function connectionOptions(databaseUrl: string, options: ConnectOptions = {}) {
  const url = new URL(databaseUrl);
  const mode = (url.searchParams.get('sslmode') ?? 'verify-full') as SslMode;
  if (!SSL_MODES.has(mode)) throw new Error(`unsupported sslmode "${mode}" in database URL`);
  const rootCertPath = url.searchParams.get('sslrootcert') ?? process.env.PGSSLROOTCERT;
  // Both are ours to interpret; left in the URL, postgres.js would send them as
  // server parameters.
  url.searchParams.delete('sslmode');
  url.searchParams.delete('sslrootcert');

  const ca = rootCertPath && rootCertPath !== 'system' ? readFileSync(rootCertPath, 'utf8') : options.ca;
  const host = decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '');
  let ssl: false | 'prefer' | tls.ConnectionOptions;
  switch (mode) {
    case 'disable':
      ssl = false;
      break;
    case 'allow':
    case 'prefer':
    case 'require':
      // libpq semantics: encrypted, but the certificate is not checked.
      ssl = mode === 'require' ? { rejectUnauthorized: false } : 'prefer';
      break;
    case 'verify-ca':
      ssl = { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
      break;
    case 'verify-full':
      ssl = { ca, rejectUnauthorized: true, checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert) };
      break;
  }

  return {
    url: url.toString(),
    options: {
      ssl,
      max: options.max ?? 10,
      idle_timeout: options.keepOpen ? 0 : 30,
      ...(options.keepOpen ? { max_lifetime: 0 } : {}),
      connect_timeout: 10,
      // Seconds before reconnecting after a failure: postgres.js grows this to
      // 20 s; capped at one so a restarted database is back in use at once.
      backoff: (attempts: number) => Math.min(0.05 * 2 ** attempts, 1),
      onnotice: () => {},
      ...(options.onQuery ? { debug: (_connection: number, query: string, parameters: unknown[]) => options.onQuery!(query, parameters) } : {}),
      connection: {
        application_name: options.applicationName ?? 'kommit',
        TimeZone: SESSION_TIME_ZONE,
        ...(options.statementTimeoutSeconds
          ? { statement_timeout: options.statementTimeoutSeconds * 1000 }
          : {}),
        idle_in_transaction_session_timeout: (options.idleInTransactionSeconds ?? 15) * 1000,
      },
    } satisfies postgres.Options<{}>,
  };
}

export function connect(databaseUrl: string, options: ConnectOptions = {}) {
  const { url, options: pgOptions } = connectionOptions(databaseUrl, options);
  return postgres(url, pgOptions);
}

export type Sql = ReturnType<typeof connect>;
