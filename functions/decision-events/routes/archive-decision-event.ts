import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { decisionEvents } from '../../../db/schema/decisions.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError, problem } from '../../../middleware/openapi.ts';
import { decisionEventIdParams, decisionEventSchema, toDecisionEvent } from '../schemas.ts';

export const route = createRoute({
  method: 'post',
  path: '/v1/decision-events/{id}/archive',
  tags: ['decision-events'],
  summary: 'Archive a decision event (its content never changes; only the status does)',
  request: { params: decisionEventIdParams },
  responses: {
    200: jsonResponse(decisionEventSchema, 'The archived event.'),
    ...commonErrors,
    ...notFoundError,
    409: problem('The event is archived already, or superseded (which it stays).'),
  },
});

export function registerArchiveDecisionEvent(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [before] = await c.var.tx.select().from(decisionEvents).where(eq(decisionEvents.id, id)).for('update');
    if (!before) throw new ApiError('not_found', 'No decision event with this id.');
    // Only an event still standing (active, or in conflict) is archived: a
    // superseded one keeps saying what replaced it, and archiving twice would
    // only add an audit row.
    if (before.status !== 'active' && before.status !== 'conflicting') throw new ApiError('conflict', `The event is ${before.status}; only an active or conflicting event can be archived.`);
    const [row] = await c.var.tx.update(decisionEvents).set({ status: 'archived' }).where(eq(decisionEvents.id, id)).returning();
    await audit(c, { action: 'decision_event.archive', targetType: 'decision_event', targetId: id, data: { before: { status: before.status } } });
    return c.json(toDecisionEvent(row!), 200);
  });
}
