import { z } from '@hono/zod-openapi';
import { toDecisionEvent as recordedEvent } from '../../db/decisions.ts';
import { decisionKinds, decisionStatuses, type decisionEvents } from '../../db/schema/decisions.ts';

export const decisionEventSchema = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    kind: z.enum(decisionKinds).openapi({ example: 'decision' }),
    title: z.string().openapi({ example: 'Use the EU region for all customer data' }),
    rationale: z.string().nullable().openapi({ example: 'Contracts with our customers require EU residency.' }),
    outcome: z.string().nullable(),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(decisionStatuses).openapi({
      description: 'active; superseded (a later event replaced it); conflicting (it and another event of the project contradict each other; it stays so until superseded or archived); archived.',
      example: 'active',
    }),
    supersedes: z.uuid().nullable().openapi({ description: 'The earlier event this one replaced (now superseded).' }),
    conflictsWith: z.uuid().nullable().openapi({ description: 'The earlier event this one contradicted when it was recorded (both were then set conflicting).' }),
    workflowRunId: z.uuid().nullable().openapi({ description: 'The workflow run whose step this event decided; null for an event recorded directly.' }),
    workflowStep: z.number().int().nullable().openapi({ description: 'The index of the step it decided in that run.', example: 0 }),
    createdAt: z.string(),
  })
  .openapi('DecisionEvent');

export const decisionEventIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
});

/** A decision event as the API shows it: as its audit rows record it, and the run and step it decided. */
export function toDecisionEvent(row: typeof decisionEvents.$inferSelect) {
  return { ...recordedEvent(row), workflowRunId: row.workflowRunId, workflowStep: row.workflowStep };
}
