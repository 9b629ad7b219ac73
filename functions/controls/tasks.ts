import { sql } from 'drizzle-orm';
import { collectControl, type Control } from '../../db/controls/collect.ts';
import type { KommitTaskList } from '../../db/jobs/worker.ts';
import { controls } from '../../db/schema/controls.ts';

export const controlTasks: KommitTaskList = {
  /**
   * The scheduled collection (queued every second by the worker, one at a
   * time): collects every control whose next collection is due, one control
   * per short tenant transaction so a slow source holds up nothing else.
   * SKIP LOCKED lets an on-demand collection of the same control go first;
   * collecting moves next_collection_at on, so a control is collected once per due time.
   */
  'controls.relay': async (_payload, { database, logger, auditSigner }) => {
    const orgs = await database.sql<{ org: string }[]>`select org from kommit_orgs_with_due_controls() as org`;
    for (const { org } of orgs) {
      for (let round = 0; round < 100; round++) {
        const collected = await database.withTenant(org, async (tx) => {
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
    logger.debug({ orgs: orgs.length }, 'scheduled evidence collection pass');
  },
};
