import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../tenant.ts';
import { jobConnectionConfig } from './pool.ts';

/**
 * Liveness for job locks. graphile-worker frees a job locked by a worker that
 * died only after four hours; a SIGKILLed worker's organization delete or
 * webhook would wait that long. So every id jobs are locked under is held as a
 * session advisory lock on a connection of its own, and a sweep (at start and
 * every minute, in every worker) frees the jobs of any id whose lock no
 * session holds, i.e. whose process is gone.
 *
 * What keeps the sweep from freeing a live worker's job:
 * - an id's lock is held before any job is taken under it (the worker's job
 *   fetch waits for `held`), so "locked job, free lock" never means "starting";
 * - a lost connection loses its locks without a word from Postgres: the
 *   holder reports it (`onLost`) and the worker must stop running jobs at
 *   once (the worker process exits; see worker.ts), since from then on other
 *   workers may hand its jobs to someone else.
 */

const lockKey = (id: string) => `kommit-worker:${id}`;

export class LivenessLost extends Error {
  constructor(cause: unknown) {
    super("the worker's liveness connection closed, and its locks with it: other workers now see its jobs as abandoned", { cause });
    this.name = 'LivenessLost';
  }
}

export interface LivenessHolder {
  /** Holds `id` for the life of the connection; resolves once it is held. */
  hold(id: string): Promise<void>;
  /** Lets go of every lock (a clean stop): not reported as lost. */
  release(): Promise<void>;
}

/**
 * One connection for the locks (node-postgres: it reports the end of its
 * connection and never reconnects behind our back, unlike a pool, which
 * would hand a fresh session that holds nothing).
 */
export async function openLivenessHolder(adminUrl: string, ca: string | undefined, onLost: (error: LivenessLost) => void): Promise<LivenessHolder> {
  const client = new pg.Client({
    ...jobConnectionConfig(adminUrl, { ca, applicationName: 'kommit-worker-liveness' }),
    // A peer that vanished without closing the connection is noticed too, not only a clean close.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let connected = false;
  let releasing = false;
  let lastError: unknown;
  // Without an 'error' listener a dropped connection would throw from the socket's event.
  client.on('error', (error) => (lastError = error));
  client.on('end', () => {
    if (connected && !releasing) onLost(new LivenessLost(lastError));
  });
  await client.connect();
  connected = true;
  return {
    async hold(id) {
      await client.query('select pg_advisory_lock(hashtext($1))', [lockKey(id)]);
    },
    async release() {
      releasing = true;
      await client.end().catch(() => {});
    },
  };
}

/** The ids among `ids` whose liveness lock no session holds: their process is gone. */
export async function goneWorkers(database: Database, ids: string[]) {
  const gone: string[] = [];
  await database.sql.begin(async (tx) => {
    for (const id of ids) {
      // Transaction-level: taking it proves no live session holds it, and it is let go at commit.
      const [probe] = await tx<{ free: boolean }[]>`select pg_try_advisory_xact_lock(hashtext(${lockKey(id)})) as free`;
      if (probe?.free) gone.push(id);
    }
  });
  return gone;
}

/** What a job's last_error says when it was granted an attempt because its worker died during the last one. */
export const STOPPED_DURING_LAST_ATTEMPT = 'its worker stopped during its last attempt; one more attempt granted';

/**
 * The sweep: frees the jobs (and named queues) locked by workers that are
 * gone, for any worker to take. graphile-worker counts an attempt when it hands
 * the job out, so a job whose worker died during its last attempt would be
 * freed with no attempt left, dead without ever having failed. Such a job is
 * granted one more attempt, once: if its worker dies during that one too (a job
 * that kills its worker), it stays dead, with the reason.
 */
export async function releaseJobsOfDeadWorkers(database: Database, logger: Logger) {
  const lockers = await database.sql<{ id: string }[]>`select distinct locked_by as id from graphile_worker.jobs where locked_by is not null`;
  const dead = await goneWorkers(
    database,
    lockers.map((l) => l.id),
  );
  if (dead.length) {
    await database.sql.begin(async (tx) => {
      await tx`
        update graphile_worker._private_jobs
        set max_attempts = attempts + 1, last_error = ${STOPPED_DURING_LAST_ATTEMPT}
        where locked_by = any(${dead}::text[]) and attempts >= max_attempts
          and last_error is distinct from ${STOPPED_DURING_LAST_ATTEMPT}`;
      await tx`select graphile_worker.force_unlock_workers(${dead}::text[])`;
    });
    logger.warn({ workers: dead }, 'freed the jobs of workers that are gone');
  }
  return dead;
}
