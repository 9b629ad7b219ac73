import type { CheckpointSigner } from '../db/audit/checkpoint.ts';
import pino from 'pino';
import { runJobsOnce } from '../db/jobs/worker.ts';
import type { Embedder } from '../db/search/embedder.ts';
import { LocalHashEmbedder } from '../db/search/embedder.ts';
import { PERIODIC_TASKS, taskRegistry } from '../functions/jobs.ts';
import type { TestDatabase } from './database.ts';

/**
 * Runs every queued job to completion with the real tasks, as the worker would
 * (beheerder's connection), then fails if any job failed: tests see the
 * worker's effects deterministically instead of waiting for a poll.
 */
export async function runJobs(db: TestDatabase, options: { embedder?: Embedder; auditSigner?: CheckpointSigner } = {}) {
  // What the worker's timer queues every second (the relays) is queued here once.
  for (const task of PERIODIC_TASKS) await db.admin.sql`select graphile_worker.add_job(${task}, '{}'::json, job_key => ${task})`;
  await runJobsOnce({
    adminUrl: db.adminUrl,
    ca: db.ca,
    tasks: taskRegistry,
    embedder: options.embedder ?? new LocalHashEmbedder(),
    auditSigner: options.auditSigner,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  const failed = await db.admin.sql<{ task_identifier: string; last_error: string }[]>`
    select task_identifier, last_error from graphile_worker.jobs where last_error is not null limit 3`;
  if (failed.length) throw new Error(`jobs failed: ${failed.map((f) => `${f.task_identifier}: ${f.last_error}`).join('; ')}`);
}

/** Jobs still waiting in the queue (the public jobs view leaves out payloads). */
export async function queuedJobs(db: TestDatabase) {
  const rows = await db.admin.sql<{ task_identifier: string; payload: Record<string, unknown>; key: string | null }[]>`
    select t.identifier as task_identifier, j.payload, j.key
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    order by j.id`;
  return rows;
}
