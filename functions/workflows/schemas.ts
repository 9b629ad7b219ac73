import { z } from '@hono/zod-openapi';
import { runStatuses, stepKinds, workflowStatuses, type workflowRuns, type workflows } from '../../db/schema/workflows.ts';

export const stepSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(stepKinds),
    requiredRole: z.enum(['owner', 'admin', 'member']).default('member'),
  })
  .openapi('WorkflowStep');

export const stepsSchema = z.array(stepSchema).min(1).max(50);

export const workflowSchema = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    name: z.string(),
    status: z.enum(workflowStatuses),
    version: z.number().int(),
    steps: z.array(stepSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Workflow');

export const runSchema = z
  .object({
    id: z.uuid(),
    workflowId: z.uuid(),
    version: z.number().int(),
    status: z.enum(runStatuses),
    currentStep: z.number().int().openapi({ description: 'Index of the step waiting for a decision (equals the step count once completed).' }),
    steps: z.array(stepSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WorkflowRun');

const uuidParam = (name: string) => z.uuid().openapi({ param: { name, in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' });
export const workflowIdParams = z.object({ id: uuidParam('id') });
export const runParams = z.object({ id: uuidParam('id'), runId: uuidParam('runId') });
export const projectParams = z.object({ projectId: uuidParam('projectId') });

export function toWorkflow(row: typeof workflows.$inferSelect, steps: z.infer<typeof stepSchema>[]) {
  return { id: row.id, projectId: row.projectId, name: row.name, status: row.status, version: row.currentVersion, steps, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

export function toRun(row: typeof workflowRuns.$inferSelect, steps: z.infer<typeof stepSchema>[]) {
  return { id: row.id, workflowId: row.workflowId, version: row.version, status: row.status, currentStep: row.currentStep, steps, createdAt: row.createdAt, updatedAt: row.updatedAt };
}
