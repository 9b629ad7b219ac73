import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { decisionEvents } from '../../../db/schema/decisions.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { decisionEventIdParams, decisionEventSchema, toDecisionEvent } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/decision-events/{id}',
  tags: ['decision-events'],
  summary: 'Get a decision event',
  request: { params: decisionEventIdParams },
  responses: { 200: jsonResponse(decisionEventSchema, 'The event.'), ...commonErrors, ...notFoundError },
});

export function registerGetDecisionEvent(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const [row] = await c.var.tx.select().from(decisionEvents).where(eq(decisionEvents.id, c.req.valid('param').id));
    if (!row) throw new ApiError('not_found', 'No decision event with this id.');
    return c.json(toDecisionEvent(row), 200);
  });
}
