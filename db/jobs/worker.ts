import { EventEmitter } from 'node:events';
import { Logger as WorkerLogger, run, runMigrations, runOnce, type Job, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import type { Logger } from 'pino';
import type { CheckpointSigner } from '../audit/checkpoint.ts';
import type { Embedder } from '../search/embedder.ts';
import { connect } from '../connection.ts';
import { createDatabase, type Database } from '../tenant.ts';
import { createJobPool } from './pool.ts';

/** What a task may use; tenant data only ever through `database.withTenant`. */
export interface TaskContext {
  /** beheerder's pool: not BYPASSRLS, so row-level security binds it inside withTenant too. */
  database: Database;
  embedder: Embedder;
  logger: Logger;
  /** Signs audit checkpoints for the rows tasks append (when a key is configured). */
  auditSigner?: CheckpointSigner;
  job: Job;
}

export type KommitTask = (payload: unknown, context: TaskContext) => Promise<void>;
export type KommitTaskList = Record<string, KommitTask>;

export interface WorkerOptions {
  adminUrl: string;
  ca?: string;
  tasks: KommitTaskList;
  embedder: Embedder;
  logger: Logger;
  auditSigner?: CheckpointSigner;
  /** Jobs run at once (default 4). */
  concurrency?: number;
  /** Tasks queued every `everyMs`, each under its own job key (so they never pile up). */
  periodic?: { tasks: string[]; everyMs: number };
}

/** Installs or upgrades the queue's own schema (graphile_worker), as beheerder. */
export async function installJobQueue(adminUrl: string, ca?: string) {
  const pgPool = createJobPool(adminUrl, { ca, max: 1, applicationName: 'kommit-migrate' });
  try {
    await runMigrations({ pgPool, logger: new WorkerLogger(() => () => {}) });
  } finally {
    await pgPool.end();
  }
}

function workerLogger(logger: Logger) {
  return new WorkerLogger((scope) => (level, message, meta) => {
    // The library's info lines are per job (the relay alone runs every second): debug for us.
    const method = level === 'warning' ? 'warn' : level === 'error' ? 'error' : 'debug';
    logger[method]({ worker: { label: scope.label, task: scope.taskIdentifier, jobId: scope.jobId }, ...meta }, message);
  });
}

function toTaskList(tasks: KommitTaskList, context: Omit<TaskContext, 'job'>): TaskList {
  return Object.fromEntries(
    Object.entries(tasks).map(([name, task]) => [
      name,
      (payload, helpers) =>
        task(payload, { ...context, job: helpers.job }),
    ]),
  );
}

export interface KommitWorker {
  database: Database;
  /** The ids jobs get locked under (the pool's and its workers'), held as liveness locks. */
  lockIds: string[];
  /** Settles when the queue runner ends by itself (a fatal error, e.g. the database went away): a supervisor restarts it. */
  ended: Promise<unknown>;
  /** Queues a job as beheerder, outside any tenant (platform-level work). */
  addJob(task: string, payload: Record<string, unknown>, options?: { jobKey?: string }): Promise<void>;
  /** Finishes the jobs in hand, then stops. */
  stop(): Promise<void>;
}

/**
 * Liveness for job locks. graphile-worker frees a job locked by a worker that
 * died only after four hours; a SIGKILLed worker's organization delete or
 * webhook would wait that long. Each worker id is held as a session advisory
 * lock on a reserved connection for the life of the process; a sweep (at start
 * and every minute) frees the jobs of any locking worker whose advisory lock
 * is free, i.e. whose process is gone.
 */
async function holdLiveness(adminUrl: string, ca: string | undefined, workerIds: string[]) {
  // Its own connection, never recycled: the locks live exactly as long as it does.
  const holder = connect(adminUrl, { ca, max: 1, keepOpen: true, applicationName: 'kommit-worker-liveness' });
  for (const id of workerIds) await holder`select pg_advisory_lock(hashtext(${`kommit-worker:${id}`}))`;
  return holder;
}

export async function releaseJobsOfDeadWorkers(database: Database, logger: Logger) {
  const lockers = await database.sql<{ id: string }[]>`select distinct locked_by as id from graphile_worker.jobs where locked_by is not null`;
  const dead: string[] = [];
  await database.sql.begin(async (tx) => {
    for (const { id } of lockers) {
      // Transaction-level: taking it proves no live session holds it, and it is let go at commit.
      const [probe] = await tx<{ free: boolean }[]>`select pg_try_advisory_xact_lock(hashtext(${`kommit-worker:${id}`})) as free`;
      if (probe?.free) dead.push(id);
    }
  });
  if (dead.length) {
    await database.sql`select graphile_worker.force_unlock_workers(${`{${dead.map((id) => `"${id.replaceAll('"', '')}"`).join(',')}}`}::text[])`;
    logger.warn({ workers: dead }, 'freed the jobs of workers that are gone');
  }
  return dead;
}

/** Runs the queue until stopped: LISTEN/NOTIFY picks up new jobs at once, polling catches retries. */
export async function startWorker(options: WorkerOptions): Promise<KommitWorker> {
  const pgPool = createJobPool(options.adminUrl, {
    ca: options.ca,
    max: (options.concurrency ?? 4) + 2,
    onError: (error) => options.logger.warn({ err: error }, 'job queue connection lost'),
  });
  const database = createDatabase(options.adminUrl, { ca: options.ca, max: options.concurrency ?? 4, applicationName: 'kommit-worker', statementTimeoutSeconds: 300 });
  let runner: Runner;
  const events: WorkerEvents = new EventEmitter();
  const workerIds: string[] = [];
  // Jobs are locked by the pool's id (jobs fetched in batches) or by one worker's: hold both.
  events.on('pool:create', ({ workerPool }) => workerIds.push(workerPool.id));
  events.on('worker:create', ({ worker }) => workerIds.push(worker.workerId));
  try {
    runner = await run({
      events,
      pgPool,
      taskList: toTaskList(options.tasks, { database, embedder: options.embedder, logger: options.logger, auditSigner: options.auditSigner }),
      concurrency: options.concurrency ?? 4,
      // Never read a crontab file: schedules are declared in code.
      parsedCronItems: [],
      noHandleSignals: true,
      pollInterval: 2000,
      logger: workerLogger(options.logger),
    });
  } catch (error) {
    await Promise.all([pgPool.end(), database.close()]);
    throw error;
  }
  const liveness = await holdLiveness(options.adminUrl, options.ca, workerIds);
  const sweep = () => releaseJobsOfDeadWorkers(database, options.logger).catch((error: unknown) => options.logger.warn({ err: error }, 'dead-worker sweep failed'));
  await sweep();
  const sweeper = setInterval(sweep, 60_000);
  const periodic = options.periodic;
  const timer = periodic
    ? setInterval(() => {
        for (const task of periodic.tasks) {
          runner.addJob(task, {}, { jobKey: task, maxAttempts: 1 }).catch((error: unknown) => options.logger.warn({ err: error, task }, 'could not queue a periodic job'));
        }
      }, periodic.everyMs)
    : undefined;
  return {
    database,
    lockIds: workerIds,
    ended: runner.promise.then(
      () => undefined,
      (error: unknown) => error,
    ),
    addJob: async (task, payload, addOptions) => {
      await runner.addJob(task, payload, { jobKey: addOptions?.jobKey, maxAttempts: 10 });
    },
    async stop() {
      clearInterval(timer);
      clearInterval(sweeper);
      await runner.stop().catch(() => {});
      await liveness.end({ timeout: 1 }).catch(() => {});
      await Promise.all([pgPool.end(), database.close()]);
    },
  };
}

/** Runs every job that is due now, then returns (tests and one-off CLI runs). */
export async function runJobsOnce(options: WorkerOptions) {
  const pgPool = createJobPool(options.adminUrl, { ca: options.ca, max: 2, onError: (error) => options.logger.warn({ err: error }, 'job queue connection lost') });
  const database = createDatabase(options.adminUrl, { ca: options.ca, max: 2, applicationName: 'kommit-worker' });
  try {
    await runOnce({
      pgPool,
      taskList: toTaskList(options.tasks, { database, embedder: options.embedder, logger: options.logger, auditSigner: options.auditSigner }),
      noHandleSignals: true,
      logger: workerLogger(options.logger),
    });
  } finally {
    await Promise.all([pgPool.end(), database.close()]);
  }
}
