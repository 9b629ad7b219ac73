import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connection.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { LocalHashEmbedder } from '../search/embedder.ts';
import { releaseJobsOfDeadWorkers, STOPPED_DURING_LAST_ATTEMPT } from './liveness.ts';
import { startWorker } from './worker.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const silent = pino({ level: 'silent' });
const workerOptions = () => ({ adminUrl: db.adminUrl, ca: db.ca, embedder: new LocalHashEmbedder(), logger: silent, concurrency: 1 });

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

describe('a job whose worker died during its last attempt', () => {
  it('gets one more attempt, once: a job that kills its worker every time ends dead, with the reason', async () => {
    const attemptsLeft = async () =>
      (await db.admin.sql<{ left: number; last_error: string | null; locked_by: string | null }[]>`select max_attempts - attempts as left, last_error, locked_by from graphile_worker.jobs where key = 'last'`)[0];
    try {
      await db.admin.sql`select graphile_worker.add_job('search.reembed', '{}'::json, job_key => 'last', max_attempts => 3)`;
      // Handed out for the last time (graphile-worker counts the attempt as it hands the job out), and the worker is gone.
      const dieDuringLastAttempt = () => db.admin.sql`update graphile_worker._private_jobs set attempts = max_attempts, locked_at = now(), locked_by = 'worker-gone' where key = 'last'`;
      await dieDuringLastAttempt();
      expect(await releaseJobsOfDeadWorkers(db.admin, silent)).toEqual(['worker-gone']);
      expect(await attemptsLeft()).toEqual({ left: 1, last_error: STOPPED_DURING_LAST_ATTEMPT, locked_by: null });
      // The granted attempt dies too: no further one.
      await dieDuringLastAttempt();
      await releaseJobsOfDeadWorkers(db.admin, silent);
      expect(await attemptsLeft()).toEqual({ left: 0, last_error: STOPPED_DURING_LAST_ATTEMPT, locked_by: null });
      // A job with attempts left is only freed, as before.
      await db.admin.sql`update graphile_worker._private_jobs set attempts = 1, max_attempts = 3, last_error = null, locked_at = now(), locked_by = 'worker-gone' where key = 'last'`;
      await releaseJobsOfDeadWorkers(db.admin, silent);
      expect(await attemptsLeft()).toEqual({ left: 2, last_error: null, locked_by: null });
    } finally {
      await db.admin.sql`delete from graphile_worker._private_jobs`;
    }
  });
});

describe('a worker that has just started', () => {
  it('holds its liveness lock before it takes a job, so a sweep at that moment frees nothing', async () => {
    // The task sweeps as soon as it runs: the earliest moment its job is taken.
    let freed: string[] | undefined;
    let ran!: () => void;
    const running = new Promise<void>((resolve) => (ran = resolve));
    await db.admin.sql`select graphile_worker.add_job('test.sweep', '{}'::json, job_key => 'sweep')`;
    const worker = await startWorker({
      ...workerOptions(),
      tasks: {
        'test.sweep': async () => {
          freed ??= await releaseJobsOfDeadWorkers(db.admin, silent);
          ran();
        },
      },
    });
    try {
      await running;
      expect(freed).toEqual([]);
    } finally {
      await worker.stop();
      await db.admin.sql`delete from graphile_worker._private_jobs`;
    }
  });
});

describe('a worker whose liveness connection is lost', () => {
  it('says so through ended and takes no further job', async () => {
    const ran: string[] = [];
    const worker = await startWorker({ ...workerOptions(), tasks: { 'test.record': async (payload) => void ran.push(String((payload as { n: string }).n)) } });
    try {
      const terminated = await db.admin.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'kommit-worker-liveness'`;
      expect(terminated).toHaveLength(1);
      const ended = await Promise.race([worker.ended, new Promise((resolve) => setTimeout(resolve, 10_000, 'still running'))]);
      expect(ended).toBeInstanceOf(Error);
      expect((ended as Error).message).toMatch(/liveness/);
      await db.admin.sql`select graphile_worker.add_job('test.record', '{"n": "after"}'::json)`;
      // Longer than the worker's poll interval (2 s): a worker still taking jobs would have taken it by now.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await lockedBy()).toEqual([null]);
    } finally {
      await worker.stop();
      await db.admin.sql`delete from graphile_worker._private_jobs`;
    }
    expect(ran).toEqual([]);
  });
});
