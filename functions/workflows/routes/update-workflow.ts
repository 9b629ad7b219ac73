import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { workflowRuns, workflowStatuses, workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { holdProjectForWork } from '../../../db/projects.ts';
import type { Tx } from '../../../db/tenant.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { stepsSchema, toWorkflow, workflowIdParams, workflowSchema } from '../schemas.ts';
import { loadWorkflow } from '../store.ts';

export const updateWorkflowBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), status: z.enum(workflowStatuses).optional(), steps: stepsSchema.optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateWorkflow', { example: { status: 'active' } });

export const route = createRoute({
  method: 'patch',
  path: '/v1/workflows/{id}',
  security: SESSION_ONLY,
  tags: ['workflows'],
  summary: 'Change a workflow (owners and admins); new steps on a workflow that has been active make a new version',
  description:
    'A draft’s steps are edited in place. Once a workflow has been active its versions never change: new steps make a new version, ' +
    'runs keep the version they started on, and the workflow cannot go back to draft (archive it instead).',
  request: { params: workflowIdParams, body: jsonBody(updateWorkflowBody) },
  responses: {
    200: jsonResponse(workflowSchema, 'The workflow.'),
    ...commonErrors,
    403: problem('Not a signed-in owner or admin of the organization (API keys cannot change workflows), or not over HTTPS.'),
    ...notFoundError,
    409: problem('The workflow has been active and cannot go back to draft, or its project is archived (unarchive it first; archiving the workflow itself is still allowed).'),
  },
});

/** Whether any run, whatever its state, was started on this version. */
async function versionHasRuns(tx: Tx, workflowId: string, version: number) {
  const [run] = await tx
    .select({ id: workflowRuns.id })
    .from(workflowRuns)
    .where(and(eq(workflowRuns.workflowId, workflowId), eq(workflowRuns.version, version)))
    .limit(1);
  return !!run;
}

export function registerUpdateWorkflow(app: FunctionApp) {
  app.openapi(route, async (c) => {
    // The definition decides who must sign off on what: a governance change, like controls and keys.
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const tx = c.var.tx;
    // The project before the workflow, the order its deletion takes. An archived
    // one's workflows are not edited, but may still be archived themselves.
    const archivingOnly = input.status === 'archived' && input.name === undefined && input.steps === undefined;
    await holdProjectForWork(tx, { workflowId: id }, { archivedToo: archivingOnly });
    const { workflow, steps } = await loadWorkflow(tx, id, true);
    // Only a workflow that never left draft may have its version rewritten, so
    // there is no way back to draft: "draft" always means "never active".
    if (input.status === 'draft' && workflow.status !== 'draft') {
      throw new ApiError('conflict', `The workflow is ${workflow.status} and has been active: it cannot go back to draft. Archive it, or change its steps to make a new version.`);
    }
    let version = workflow.currentVersion;
    if (input.steps) {
      // Only a draft's version is rewritten in place. The version and run checks
      // catch drafts set back from active before that was refused (an edit while
      // active made version 2+, or runs point at the version); such a version
      // stays as it was and the new steps become a new version.
      const unused = workflow.status === 'draft' && version === 1 && !(await versionHasRuns(tx, id, version));
      if (unused) {
        await tx.update(workflowVersions).set({ steps: input.steps }).where(and(eq(workflowVersions.workflowId, id), eq(workflowVersions.version, version)));
      } else {
        version += 1;
        await tx.insert(workflowVersions).values({ orgId: c.var.org.id, workflowId: id, version, steps: input.steps });
      }
    }
    const [row] = await tx
      .update(workflows)
      .set({ ...(input.name ? { name: input.name } : {}), ...(input.status ? { status: input.status } : {}), currentVersion: version, updatedAt: sql`now()` })
      .where(eq(workflows.id, id))
      .returning();
    const result = toWorkflow(row!, input.steps ?? steps);
    await audit(c, { action: 'workflow.update', targetType: 'workflow', targetId: id, data: { before: toWorkflow(workflow, steps), after: result } });
    return c.json(result, 200);
  });
}
