import { and, eq, sql } from 'drizzle-orm';
import { workflowRuns, workflowVersions, workflows } from '../../db/schema/workflows.ts';
import type { Tx } from '../../db/tenant.ts';
import { ApiError } from '../../middleware/errors.ts';

/** The workflow and its current version's steps, or 404 (another organization's looks missing too). */
export async function loadWorkflow(tx: Tx, id: string, lock = false) {
  const query = tx.select().from(workflows).where(eq(workflows.id, id));
  const [workflow] = lock ? await query.for('update') : await query;
  if (!workflow) throw new ApiError('not_found', 'No workflow with this id.');
  return { workflow, steps: await loadSteps(tx, id, workflow.currentVersion) };
}

export async function loadSteps(tx: Tx, workflowId: string, version: number) {
  const [row] = await tx
    .select({ steps: workflowVersions.steps })
    .from(workflowVersions)
    .where(and(eq(workflowVersions.workflowId, workflowId), eq(workflowVersions.version, version)));
  if (!row) throw new ApiError('not_found', 'No such version of this workflow.');
  return row.steps;
}

/**
 * Key-share locks the workflow's project until the transaction ends, before
 * anything under it is locked or written (a run started, a step decided). A
 * deletion of the project locks it and then what cascades from it, so it
 * waits for this transaction, or this one finds the workflow gone (404). The
 * other way round (a run locked first, the project reached later by an
 * insert's foreign key check) the two would deadlock, or the insert would
 * find its parent deleted meanwhile.
 */
export async function holdProjectOf(tx: Tx, workflowId: string) {
  await tx.execute(sql`select 1 from projects where id = (select project_id from workflows where id = ${workflowId}) for key share`);
}

export async function loadRun(tx: Tx, workflowId: string, runId: string, lock = false) {
  const query = tx.select().from(workflowRuns).where(and(eq(workflowRuns.id, runId), eq(workflowRuns.workflowId, workflowId)));
  const [run] = lock ? await query.for('update') : await query;
  if (!run) throw new ApiError('not_found', 'No run with this id in this workflow.');
  return { run, steps: await loadSteps(tx, workflowId, run.version) };
}
