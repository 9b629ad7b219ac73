import { sql } from 'drizzle-orm';
import type { Tx } from '../tenant.ts';

/** Tasks a tenant transaction may queue (the list kommit_enqueue accepts). */
export type TenantTask = 'search.index';

/**
 * Queues a background job in the caller's tenant transaction: it commits or
 * rolls back with the change that asked for it. The database stamps the job
 * with the transaction's organization; `jobKey` (scoped to that organization)
 * replaces a still-pending job with the same key, so bursts collapse into one.
 */
export async function enqueue(tx: Tx, task: TenantTask, payload: Record<string, unknown>, jobKey?: string) {
  await tx.execute(sql`select kommit_enqueue(${task}, ${JSON.stringify(payload)}::jsonb, ${jobKey ?? null})`);
}
