import type { CheckpointSigner } from '../db/audit/checkpoint.ts';
import type { Logger } from 'pino';
import { assertConnection, checkWorkerConnection } from '../db/boot-checks.ts';
import { connect } from '../db/connection.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { LivenessLost } from '../db/jobs/liveness.ts';
import { startWorker, type KommitTaskList, type KommitWorker } from '../db/jobs/worker.ts';
import type { RoleNames } from '../db/roles.ts';
import type { Embedder } from '../db/search/embedder.ts';
import { embedderFromEnv } from '../db/search/remote-embedder.ts';
import { controlTasks } from './controls/tasks.ts';
import { hookTasks } from './hooks/tasks.ts';
import { organizationTasks } from './organizations/tasks.ts';
import { searchTasks } from './search/tasks.ts';

/**
 * Jobs the worker queues every second (keyed, so one waits at a time across
 * all worker processes): relays that turn outbox rows into jobs.
 */
export const PERIODIC_TASKS = ['webhook.relay', 'controls.relay'];

/** Every background task, by name; the worker runs them all. */
export const taskRegistry: KommitTaskList = {
  ...searchTasks,
  ...organizationTasks,
  ...hookTasks,
  ...controlTasks,
};

/**
 * Starts the worker as beheerder after checking its connection, queues the
 * start-up sweep that re-embeds chunks made by another embedding model, and
 * supervises it: when the queue runner dies by itself, it is started again
 * with growing pauses, in this same process. A lost liveness connection is
 * not restarted here: `ended` settles with it, and the process must end (only
 * that stops the jobs in hand, which other workers may already be running
 * again). A database outage usually ends the liveness connection too, so it
 * usually ends the process, which its supervisor then starts again.
 */
export async function launchWorker(options: {
  adminUrl: string;
  ca?: string;
  roles: RoleNames;
  logger: Logger;
  embedder?: Embedder;
  concurrency?: number;
  /** Apply pending migrations once the connection passed its check (development). */
  migrate?: boolean;
  /** Signs checkpoints for the audit rows tasks append, as the server does for requests. */
  auditSigner?: CheckpointSigner;
}): Promise<KommitWorker> {
  const embedder = options.embedder ?? embedderFromEnv();
  // Checked before the queue library connects: it would migrate its schema first.
  const probe = connect(options.adminUrl, { ca: options.ca, max: 1, applicationName: 'kommit-worker' });
  try {
    await assertConnection(checkWorkerConnection(probe, options.roles));
  } finally {
    await probe.end();
  }
  if (options.migrate) await migrateDatabase(options.adminUrl, options.ca);
  const start = () => startWorker({ ...options, embedder, tasks: taskRegistry, periodic: { tasks: PERIODIC_TASKS, everyMs: 1000 } });
  let current = await start();
  await current.addJob('search.reembed', {}, { jobKey: 'search.reembed' });

  let stopping = false;
  const supervise = async (): Promise<unknown> => {
    const error = await current.ended;
    if (stopping) return undefined;
    if (error instanceof LivenessLost) return error;
    options.logger.error({ err: error }, 'job queue runner stopped; restarting it');
    await current.stop();
    for (let pause = 1000; !stopping; pause = Math.min(pause * 2, 30_000)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (stopping) return undefined;
      try {
        current = await start();
        options.logger.info('job queue runner restarted');
        return supervise();
      } catch (restartError) {
        options.logger.warn({ err: restartError, retryInMs: pause * 2 }, 'job queue runner could not restart yet');
      }
    }
  };
  const supervision = supervise();
  return {
    get database() {
      return current.database;
    },
    get lockIds() {
      return current.lockIds;
    },
    ended: supervision,
    addJob: (task, payload, addOptions) => current.addJob(task, payload, addOptions),
    async stop() {
      stopping = true;
      await current.stop();
    },
  };
}
