import postgres from 'postgres';
import type { ConnectOptions } from '../db/connection.ts';
import { SESSION_TIME_ZONE } from '../db/timestamps.ts';

export type { ConnectOptions };

/**
 * db/connection.ts for workerd (the edge build puts this module in its place).
 * postgres.js's workerd build opens its socket with `cloudflare:sockets` and
 * upgrades it with startTls(), which always verifies the server certificate
 * and host name against the runtime's trust store: a CA cannot be handed over
 * per connection, and no unverified mode exists. So only sslmode=verify-full
 * (the default) is accepted here, and the database's CA must be one the
 * runtime trusts (a public CA, or workerd's network tlsOptions).
 */
export function connect(databaseUrl: string, options: ConnectOptions = {}) {
  const url = new URL(databaseUrl);
  const mode = url.searchParams.get('sslmode') ?? 'verify-full';
  if (mode !== 'verify-full') {
    throw new Error(`sslmode=${mode} cannot be honoured in workerd: its TLS always verifies the certificate and host name`);
  }
  url.searchParams.delete('sslmode');
  url.searchParams.delete('sslrootcert');
  return postgres(url.toString(), {
    ssl: true,
    max: options.max ?? 2,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    ...(options.onQuery ? { debug: (_connection: number, query: string, parameters: unknown[]) => options.onQuery!(query, parameters) } : {}),
    connection: {
      application_name: options.applicationName ?? 'kommit-edge',
      TimeZone: SESSION_TIME_ZONE,
      ...(options.statementTimeoutSeconds ? { statement_timeout: options.statementTimeoutSeconds * 1000 } : {}),
    },
  });
}

export type Sql = ReturnType<typeof connect>;
