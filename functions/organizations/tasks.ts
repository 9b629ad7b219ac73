import { z } from 'zod';
import type { KommitTaskList } from '../../db/jobs/worker.ts';
import { deleteOrganizationData } from '../../db/org-deletion.ts';

const deletePayload = z.object({ orgId: z.uuid() });

export const organizationTasks: KommitTaskList = {
  /** Queued by kommit_begin_org_deletion; resumes where a crashed run stopped. */
  'org.delete': async (payload, { database, logger }) => {
    const { orgId } = deletePayload.parse(payload);
    const started = Date.now();
    const rows = await deleteOrganizationData(database, orgId);
    logger.info({ orgId, rows, ms: Date.now() - started }, 'organization deleted');
  },
};
