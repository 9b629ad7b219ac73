import type { Logger } from 'pino';
import { assertConnection, checkWorkerConnection } from '../db/boot-checks.ts';
import { connect } from '../db/connection.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { startWorker, type KommitTaskList, type KommitWorker } from '../db/jobs/worker.ts';
import type { RoleNames } from '../db/roles.ts';
import type { Embedder } from '../db/search/embedder.ts';
import { embedderFromEnv } from '../db/search/remote-embedder.ts';
import { hookTasks } from './hooks/tasks.ts';
import { organizationTasks } from './organizations/tasks.ts';
import { searchTasks } from './search/tasks.ts';

/**
 * Jobs the worker queues every second (keyed, so one waits at a time across
 * all worker processes): relays that turn outbox rows into jobs.
 */
export const PERIODIC_TASKS = ['webhook.relay'];

/** Every background task, by name; the worker runs them all. */
export const taskRegistry: KommitTaskList = {
  ...searchTasks,
  ...organizationTasks,
  ...hookTasks,
};

/**
 * Starts the worker as beheerder after checking its connection, and queues the
 * start-up sweep that re-embeds chunks made by another embedding model.
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
  const worker = await startWorker({ ...options, embedder, tasks: taskRegistry, periodic: { tasks: PERIODIC_TASKS, everyMs: 1000 } });
  try {
    await worker.addJob('search.reembed', {}, { jobKey: 'search.reembed' });
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}
