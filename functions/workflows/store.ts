import { and, eq } from 'drizzle-orm';
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

export async function loadRun(tx: Tx, workflowId: string, runId: string, lock = false) {
  const query = tx.select().from(workflowRuns).where(and(eq(workflowRuns.id, runId), eq(workflowRuns.workflowId, workflowId)));
  const [run] = lock ? await query.for('update') : await query;
  if (!run) throw new ApiError('not_found', 'No run with this id in this workflow.');
  return { run, steps: await loadSteps(tx, workflowId, run.version) };
}
