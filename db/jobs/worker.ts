import { EventEmitter } from 'node:events';
import { Logger as WorkerLogger, run, runMigrations, runOnce, type Job, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import type { Logger } from 'pino';
import type { CheckpointSigner } from '../audit/checkpoint.ts';
import type { Embedder } from '../search/embedder.ts';
import { createDatabase, type Database } from '../tenant.ts';
import { LivenessLost, openLivenessHolder, releaseJobsOfDeadWorkers } from './liveness.ts';
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
  /** The ids jobs get locked under (the pool's), held as liveness locks. */
  lockIds: string[];
  /**
   * Settles when the worker ends by itself, with why: a fatal error of the
   * queue runner (e.g. the database went away), which a supervisor may restart,
   * or LivenessLost, after which this process must not finish its jobs in hand.
   */
  ended: Promise<unknown>;
  /** Queues a job as beheerder, outside any tenant (platform-level work). */
  addJob(task: string, payload: Record<string, unknown>, options?: { jobKey?: string }): Promise<void>;
  /** Finishes the jobs in hand, then stops. */
  stop(): Promise<void>;
}

/** Runs the queue until stopped: LISTEN/NOTIFY picks up new jobs at once, polling catches retries. */
export async function startWorker(options: WorkerOptions): Promise<KommitWorker> {
  let lost: LivenessLost | undefined;
  let reportLost!: (error: LivenessLost) => void;
  const livenessLost = new Promise<LivenessLost>((resolve) => (reportLost = resolve));
  const liveness = await openLivenessHolder(options.adminUrl, options.ca, (error) => {
    lost = error;
    options.logger.error({ err: error }, 'liveness connection lost: taking no more jobs');
    reportLost(error);
  });
  const pgPool = createJobPool(options.adminUrl, {
    ca: options.ca,
    max: (options.concurrency ?? 4) + 2,
    onError: (error) => options.logger.warn({ err: error }, 'job queue connection lost'),
  });
  const database = createDatabase(options.adminUrl, { ca: options.ca, max: options.concurrency ?? 4, applicationName: 'kommit-worker', statementTimeoutSeconds: 300 });
  const closeAll = () => Promise.all([liveness.release(), pgPool.end(), database.close()]);
  const events: WorkerEvents = new EventEmitter();
  const lockIds: string[] = [];
  let held: Promise<void> | undefined;
  // graphile-worker (0.18) locks every job under its pool's id, made when the
  // pool is (before any of its workers asks for a job).
  events.on('pool:create', ({ workerPool }) => {
    lockIds.push(workerPool.id);
    held = liveness.hold(workerPool.id);
    held.catch(() => {});
  });
  let runner: Runner;
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
      // Asked before every job fetch, so it is our gate: no job is taken under
      // the pool's id before its liveness lock is held, and none once it is lost.
      forbiddenFlags: async () => {
        if (!held) throw new Error('the job pool has no liveness lock');
        await held;
        if (lost) throw lost;
        return null;
      },
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
  try {
    await held;
  } catch (error) {
    await runner.stop().catch(() => {});
    await closeAll();
    throw error;
  }
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
    lockIds,
    ended: Promise.race([
      livenessLost,
      runner.promise.then(
        () => undefined,
        (error: unknown) => error,
      ),
    ]),
    addJob: async (task, payload, addOptions) => {
      await runner.addJob(task, payload, { jobKey: addOptions?.jobKey, maxAttempts: 10 });
    },
    async stop() {
      clearInterval(timer);
      clearInterval(sweeper);
      await runner.stop().catch(() => {});
      await closeAll();
    },
  };
}

/**
 * Runs every job that is due now, then returns (tests and benchmarks). It
 * holds no liveness locks: a worker's sweep running against the same database
 * at the same time would free its jobs.
 */
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
