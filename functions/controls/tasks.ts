import { sql } from 'drizzle-orm';
import type { CheckpointSigner } from '../../db/audit/checkpoint.ts';
import { collectControl, type Control } from '../../db/controls/collect.ts';
import type { KommitTaskList } from '../../db/jobs/worker.ts';
import { controls } from '../../db/schema/controls.ts';
import type { Database } from '../../db/tenant.ts';
import { lockOrganization } from '../../db/operators.ts';

/**
 * Collects one organization's due controls, one control per short tenant
 * transaction so a slow source holds up nothing else. SKIP LOCKED lets an
 * on-demand collection of the same control go first; collecting moves
 * next_collection_at on, so a control is collected once per due time.
 */
export async function collectDueControls(database: Database, org: string, auditSigner: CheckpointSigner | undefined) {
  for (let round = 0; round < 100; round++) {
    const collected = await database.withTenant(org, async (tx) => {
      // Share-locked while collecting, as webhook.process does: a deletion
      // requested meanwhile waits, and one requested since the relay listed
      // this organization ends its collection here.
      const state = await lockOrganization(tx, org);
      if (!state || state.deletionRequestedAt) return false;
      const due = (await tx
        .select()
        .from(controls)
        .where(sql`${controls.nextCollectionAt} <= now()`)
        .orderBy(controls.nextCollectionAt)
        .limit(1)
        .for('update', { skipLocked: true })) as Control[];
      const control = due[0];
      if (!control) return false;
      if (control.evidence.length === 0 || !control.scheduleMinutes) {
        await tx.update(controls).set({ nextCollectionAt: null }).where(sql`${controls.id} = ${control.id}`);
        return true;
      }
      await collectControl(tx, { orgId: org, actor: { type: 'system', id: 'controls.schedule' }, signer: auditSigner }, control, 'schedule');
      return true;
    });
    if (!collected) break;
  }
}

export const controlTasks: KommitTaskList = {
  /**
   * The scheduled collection (queued every second by the worker, one at a
   * time): collects every organization's due controls. Organizations are
   * isolated from each other: one that fails is logged and counted, and the
   * pass goes on to the next, so no organization can stop the others'
   * collection.
   */
  'controls.relay': async (_payload, { database, logger, auditSigner }) => {
    const orgs = await database.sql<{ org: string }[]>`select org from kommit_orgs_with_due_controls() as org`;
    const failed: string[] = [];
    for (const { org } of orgs) {
      try {
        await collectDueControls(database, org, auditSigner);
      } catch (error) {
        failed.push(org);
        logger.error({ err: error, orgId: org }, 'scheduled evidence collection failed for an organization');
      }
    }
    logger.debug({ orgs: orgs.length, failed: failed.length }, 'scheduled evidence collection pass');
    // Only after every organization had its turn: the failed job then shows
    // on the admin console's job queue instead of passing silently.
    if (failed.length > 0) throw new Error(`scheduled evidence collection failed for ${failed.length} of ${orgs.length} organizations: ${failed.join(', ')}`);
  },
};
