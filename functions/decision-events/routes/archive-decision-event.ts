import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { decisionEvents } from '../../../db/schema/decisions.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { decisionEventIdParams, decisionEventSchema, toDecisionEvent } from '../schemas.ts';

export const route = createRoute({
  method: 'post',
  path: '/v1/decision-events/{id}/archive',
  tags: ['decision-events'],
  summary: 'Archive a decision event (its content never changes; only the status does)',
  request: { params: decisionEventIdParams },
  responses: { 200: jsonResponse(decisionEventSchema, 'The archived event.'), ...commonErrors, ...notFoundError },
});

export function registerArchiveDecisionEvent(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [before] = await c.var.tx.select().from(decisionEvents).where(eq(decisionEvents.id, id)).for('update');
    if (!before) throw new ApiError('not_found', 'No decision event with this id.');
    const [row] = await c.var.tx.update(decisionEvents).set({ status: 'archived' }).where(eq(decisionEvents.id, id)).returning();
    await audit(c, { action: 'decision_event.archive', targetType: 'decision_event', targetId: id, data: { before: { status: before.status } } });
    return c.json(toDecisionEvent(row!), 200);
  });
}
