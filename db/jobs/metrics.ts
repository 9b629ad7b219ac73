import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../tenant.ts';

/** The worker's metrics: the queue's depth by task and state, plus Node's defaults. */
/** `database` is asked for on every scrape: the runner (and its pool) may have been restarted since. */
export function createWorkerMetrics(database: () => Database) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kommit_worker_' });
  new Gauge({
    name: 'kommit_jobs',
    help: 'Jobs in the queue by task and state (waiting, running, failed: out of attempts).',
    labelNames: ['task', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await database().sql<{ task: string; waiting: number; running: number; failed: number }[]>`
        select task_identifier as task,
               count(*) filter (where locked_at is null and attempts < max_attempts)::int as waiting,
               count(*) filter (where locked_at is not null)::int as running,
               count(*) filter (where attempts >= max_attempts)::int as failed
        from graphile_worker.jobs group by 1`;
      for (const row of rows) {
        this.set({ task: row.task, state: 'waiting' }, row.waiting);
        this.set({ task: row.task, state: 'running' }, row.running);
        this.set({ task: row.task, state: 'failed' }, row.failed);
      }
    },
  });
  return registry;
}
