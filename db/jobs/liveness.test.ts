import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connection.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { LocalHashEmbedder } from '../search/embedder.ts';
import { releaseJobsOfDeadWorkers, startWorker } from './worker.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const lockedBy = async () =>
  (await db.admin.sql<{ locked_by: string | null }[]>`select locked_by from graphile_worker.jobs order by id`).map((j) => j.locked_by);

describe('a running worker', () => {
  it('holds the ids its jobs are locked under, so no sweep frees its jobs', async () => {
    const worker = await startWorker({ adminUrl: db.adminUrl, ca: db.ca, tasks: {}, embedder: new LocalHashEmbedder(), logger: pino({ level: 'silent' }), concurrency: 1 });
    try {
      expect(worker.lockIds.some((id) => id.startsWith('pool-'))).toBe(true);
      await db.admin.sql`select graphile_worker.add_job('search.reembed', '{}'::json, job_key => 'held')`;
      await db.admin.sql`update graphile_worker._private_jobs set locked_at = now(), locked_by = ${worker.lockIds[0]!} where key = 'held'`;
      expect(await releaseJobsOfDeadWorkers(db.admin, pino({ level: 'silent' }))).toEqual([]);
    } finally {
      await worker.stop();
      await db.admin.sql`delete from graphile_worker._private_jobs`;
    }
  });
});

describe('jobs locked by a worker that is gone', () => {
  it('are freed by the sweep, while a live worker keeps its jobs', async () => {
    // Two jobs, each "running" on some worker: one alive (it holds its liveness lock), one gone.
    await db.admin.sql`select graphile_worker.add_job('search.reembed', '{}'::json, job_key => 'a')`;
    await db.admin.sql`select graphile_worker.add_job('search.reembed', '{}'::json, job_key => 'b')`;
    await db.admin.sql`update graphile_worker._private_jobs set locked_at = now(), locked_by = case key when 'a' then 'worker-alive' else 'worker-gone' end`;
    const alive = connect(db.adminUrl, { ca: db.ca, max: 1, keepOpen: true });
    try {
      await alive`select pg_advisory_lock(hashtext('kommit-worker:worker-alive'))`;
      const freed = await releaseJobsOfDeadWorkers(db.admin, pino({ level: 'silent' }));
      expect(freed).toEqual(['worker-gone']);
      expect(await lockedBy()).toEqual(['worker-alive', null]);
    } finally {
      await alive.end();
    }
    // Its process ended (the connection closed): now its jobs are freed too.
    expect(await releaseJobsOfDeadWorkers(db.admin, pino({ level: 'silent' }))).toEqual(['worker-alive']);
    expect(await lockedBy()).toEqual([null, null]);
  });
});
