import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { eq, sql } from 'drizzle-orm';
import { insertDecisionEvent } from '../../db/decisions.ts';
import { hasRoleAtLeast } from '../../db/member-roles.ts';
import { holdProjectForWork } from '../../db/projects.ts';
import { workflowRuns } from '../../db/schema/workflows.ts';
import { audit, auditContext } from '../../middleware/audit.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError } from '../../middleware/errors.ts';
import type { FunctionApp } from '../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem } from '../../middleware/openapi.ts';
import { runParams, runSchema, toRun } from './schemas.ts';
import { loadRun, loadWorkflow } from './store.ts';

export const decisionBody = z
  .object({
    step: z.number().int().min(0).openapi({
      description: 'The step this decision is for: the run’s currentStep as the caller saw it. Any other answers 409, so a repeated or crossing request never decides a step its sender did not see.',
    }),
    rationale: z.string().max(20_000).optional(),
    outcome: z.string().max(20_000).optional(),
  })
  .openapi('StepDecision', { example: { step: 1, rationale: 'Reviewed the model card and the test results.' } });

function decisionRoute(verdict: 'complete' | 'reject') {
  return createRoute({
    method: 'post',
    path: `/v1/workflows/{id}/runs/{runId}/${verdict}`,
    tags: ['workflows'],
    summary: verdict === 'complete' ? 'Complete the current step of a run' : 'Reject the current step (ends the run)',
    description: 'A signed-in member needs at least the step’s role, whatever its kind; an API key (the automation) may decide automated steps only. Each decision is recorded as a decision event.',
    request: { params: runParams, body: jsonBody(decisionBody) },
    responses: { 200: jsonResponse(runSchema, 'The run after the decision.'), ...commonErrors, ...notFoundError, 409: problem('The run is not running, is at another step than the one named, or is at a step its version does not have; or the project is archived.') },
  });
}

async function decide(c: Context<AppEnv>, verdict: 'complete' | 'reject', params: { id: string; runId: string }, input: z.infer<typeof decisionBody>) {
  const tx = c.var.tx;
  // The project first, then the run: the decision event's insert reaches the project too.
  await holdProjectForWork(tx, { workflowId: params.id });
  const { workflow } = await loadWorkflow(tx, params.id);
  const { run, steps } = await loadRun(tx, params.id, params.runId, true);
  if (run.status !== 'running') throw new ApiError('conflict', `The run is ${run.status}.`);
  const step = steps[run.currentStep];
  // Versions a run uses are never rewritten, so this is a broken invariant, not
  // a client error; still, refuse it plainly rather than answer 500.
  if (!step) throw new ApiError('conflict', `The run is at step ${run.currentStep}, which version ${run.version} of this workflow does not have.`);
  if (input.step !== run.currentStep) {
    throw new ApiError('conflict', `The run is at step ${run.currentStep} ("${step.name}"), not step ${input.step}: it was decided meanwhile. Read the run again before deciding.`);
  }
  // An API key stands for the automation, so it may decide automated steps
  // only; a person decides any step, and always needs the step's role.
  const member = c.var.principal.kind === 'session' ? c.var.member : undefined;
  if (!member && step.kind !== 'automated') throw new ApiError('forbidden', `Step "${step.name}" is a ${step.kind}: a signed-in member must decide it.`);
  if (member && !hasRoleAtLeast(member.role, step.requiredRole)) {
    throw new ApiError('forbidden', `Step "${step.name}" needs the role ${step.requiredRole} or higher; you are ${member.role}.`);
  }
  const last = run.currentStep === steps.length - 1;
  const status = verdict === 'reject' ? 'rejected' : last ? 'completed' : 'running';
  const [updated] = await tx
    .update(workflowRuns)
    .set({ status, currentStep: verdict === 'complete' ? run.currentStep + 1 : run.currentStep, updatedAt: sql`now()` })
    .where(eq(workflowRuns.id, run.id))
    .returning();
  const { actor } = auditContext(c);
  // The step's decision is a decision event like any other, with its own audit row.
  const { event, audit: recorded } = await insertDecisionEvent(tx, {
    orgId: c.var.org.id,
    projectId: workflow.projectId,
    kind: 'decision',
    title: `${step.name}: ${verdict === 'complete' ? 'completed' : 'rejected'}`,
    rationale: input.rationale ?? null,
    outcome: input.outcome ?? null,
    actor,
    metadata: { workflowId: workflow.id, version: run.version, step: step.name, kind: step.kind, requiredRole: step.requiredRole, role: c.var.member?.role ?? null },
    workflowRunId: run.id,
    workflowStep: run.currentStep,
  });
  await audit(c, recorded);
  await audit(c, {
    action: verdict === 'complete' ? 'workflow_run.complete_step' : 'workflow_run.reject_step',
    targetType: 'workflow_run',
    targetId: run.id,
    data: { step: run.currentStep, name: step.name, decisionEventId: event.id, status },
  });
  return c.json(toRun(updated!, steps), 200);
}

export function registerDecisionRoutes(app: FunctionApp) {
  app.openapi(decisionRoute('complete'), async (c) => decide(c, 'complete', c.req.valid('param'), c.req.valid('json')));
  app.openapi(decisionRoute('reject'), async (c) => decide(c, 'reject', c.req.valid('param'), c.req.valid('json')));
}
