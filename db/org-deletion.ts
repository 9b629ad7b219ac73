import { sql } from 'drizzle-orm';
import type { Database } from './tenant.ts';

export interface TenantTable {
  name: string;
  /** Tenant tables this one references (deleted after it). */
  parents: string[];
}

/**
 * Every table with an org_id column, read from the catalog (so a table added
 * later is covered without touching this file), ordered so that a table comes
 * before the tables it references: deleting in this order never waits on a
 * cascade larger than one batch.
 */
export async function tenantTablesChildrenFirst(database: Database): Promise<TenantTable[]> {
  const rows = await database.sql<{ name: string; parents: string[] }[]>`
    select c.oid::regclass::text as name,
           coalesce(array(select distinct f.confrelid::regclass::text from pg_constraint f
                          where f.conrelid = c.oid and f.contype = 'f' and f.confrelid <> c.oid), '{}') as parents
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname = 'public'
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)
    order by 1`;
  const tables = new Map(rows.map((r) => [r.name, { name: r.name, parents: r.parents.filter((p) => p !== 'organizations') }]));
  const ordered: TenantTable[] = [];
  const placed = new Set<string>();
  // A table is placed once every table referencing it is placed.
  while (placed.size < tables.size) {
    const next = [...tables.values()].filter(
      (t) => !placed.has(t.name) && [...tables.values()].every((other) => placed.has(other.name) || other.name === t.name || !other.parents.includes(t.name)),
    );
    if (next.length === 0) throw new Error('tenant tables reference each other in a cycle');
    for (const table of next) {
      ordered.push(table);
      placed.add(table.name);
    }
  }
  return ordered;
}

export interface DeletionProgress {
  table: string;
  deleted: number;
}

/**
 * Removes every row of an organization whose deletion has begun
 * (kommit_begin_org_deletion), one short transaction per batch inside
 * withTenant, so other organizations' requests never wait behind it. Safe to
 * run again after a crash: it continues with whatever rows are left. Returns
 * the number of rows removed by this run.
 */
export async function deleteOrganizationData(
  database: Database,
  orgId: string,
  options: { batchSize?: number; onBatch?: (progress: DeletionProgress) => void | Promise<void> } = {},
) {
  const batchSize = options.batchSize ?? 5000;
  const [org] = await database.withTenant(orgId, (tx) =>
    tx.execute<{ deletion_requested_at: string | null }>(sql`select deletion_requested_at from organizations where id = ${orgId}`),
  );
  if (!org) {
    // Gone already: an earlier run got as far as the organization row.
    await database.sql`update organization_deletions set completed_at = coalesce(completed_at, now()) where deleted_organization_id = ${orgId}`;
    return 0;
  }
  if (!org.deletion_requested_at) throw new Error(`organization ${orgId} is not being deleted`);
  let total = 0;
  for (const table of await tenantTablesChildrenFirst(database)) {
    for (;;) {
      const deleted = await database.withTenant(orgId, async (tx) => {
        const result = await tx.execute(
          sql`delete from ${sql.raw(table.name)} where ctid = any(array(select ctid from ${sql.raw(table.name)} where org_id = ${orgId} limit ${batchSize}))`,
        );
        // Counted in the same transaction, so the total stays exact across crashes.
        await tx.execute(sql`update organization_deletions set rows_deleted = coalesce(rows_deleted, 0) + ${result.count} where deleted_organization_id = ${orgId}`);
        return result.count;
      });
      total += deleted;
      if (deleted > 0) await options.onBatch?.({ table: table.name, deleted });
      if (deleted < batchSize) break;
    }
  }
  await database.withTenant(orgId, (tx) => tx.execute(sql`delete from organizations where id = ${orgId}`));
  // Its jobs still queued or failed for good: their payloads and errors name it
  // and its rows. complete_jobs leaves a running job alone (this one included);
  // payloads are only in graphile-worker's table, as the admin console reads them.
  await database.sql`select graphile_worker.complete_jobs(array(select id from graphile_worker._private_jobs where payload->>'orgId' = ${orgId} and locked_at is null))`;
  await database.sql`update organization_deletions set completed_at = now() where deleted_organization_id = ${orgId}`;
  return total;
}
