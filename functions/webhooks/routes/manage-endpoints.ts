import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { deliveryStatuses, webhookDeliveries, webhookEndpoints } from '../../../db/schema/webhooks.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { deliverySchema, endpointIdParams, endpointSchema, toDelivery, toEndpoint } from '../schemas.ts';

const endpointPage = z.object({ data: z.array(endpointSchema), nextCursor: z.string().nullable() }).openapi('WebhookEndpointPage');
const deliveryPage = z.object({ data: z.array(deliverySchema), nextCursor: z.string().nullable() }).openapi('WebhookDeliveryPage');

export const listRoute = createRoute({
  method: 'get',
  path: '/v1/webhook-endpoints',
  tags: ['webhooks'],
  summary: 'List inbound webhook endpoints, newest first',
  request: { query: pageQuerySchema },
  responses: { 200: jsonResponse(endpointPage, 'A page of endpoints.'), ...commonErrors },
});

export const getRoute = createRoute({
  method: 'get',
  path: '/v1/webhook-endpoints/{id}',
  tags: ['webhooks'],
  summary: 'Read an inbound webhook endpoint (never its secret)',
  request: { params: endpointIdParams },
  responses: { 200: jsonResponse(endpointSchema, 'The endpoint.'), ...commonErrors, ...notFoundError },
});

export const updateBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), enabled: z.boolean().optional() })
  .refine((body) => Object.keys(body).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateWebhookEndpoint', { example: { enabled: false } });

export const updateRoute = createRoute({
  method: 'patch',
  path: '/v1/webhook-endpoints/{id}',
  security: SESSION_ONLY,
  tags: ['webhooks'],
  summary: 'Rename, enable or disable an endpoint (a disabled one answers 404 like an unknown one)',
  request: { params: endpointIdParams, body: jsonBody(updateBody) },
  responses: { 200: jsonResponse(endpointSchema, 'The changed endpoint.'), ...commonErrors, ...notFoundError },
});

export const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/webhook-endpoints/{id}',
  security: SESSION_ONLY,
  tags: ['webhooks'],
  summary: 'Delete an endpoint and its deliveries',
  request: { params: endpointIdParams },
  responses: { 200: jsonResponse(endpointSchema, 'The deleted endpoint.'), ...commonErrors, ...notFoundError },
});

export const deliveriesQuery = pageQuerySchema.extend({
  status: z.enum(deliveryStatuses).optional().openapi({ example: 'dead' }),
});

export const deliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/webhook-endpoints/{id}/deliveries',
  tags: ['webhooks'],
  summary: "An endpoint's deliveries, newest first, with their processing state (retrying, dead)",
  request: { params: endpointIdParams, query: deliveriesQuery },
  responses: { 200: jsonResponse(deliveryPage, 'A page of deliveries.'), ...commonErrors, ...notFoundError },
});

export function registerManageEndpoints(app: FunctionApp) {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await c.var.tx
      .select()
      .from(webhookEndpoints)
      .where(beforeCursor(webhookEndpoints.createdAt, webhookEndpoints.id, decodeCursor(cursor)))
      .orderBy(...newestFirst(webhookEndpoints.createdAt, webhookEndpoints.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toEndpoint), nextCursor: result.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const [row] = await c.var.tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, c.req.valid('param').id));
    if (!row) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    return c.json(toEndpoint(row), 200);
  });

  app.openapi(updateRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const [before] = await c.var.tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).for('update');
    if (!before) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    const [row] = await c.var.tx.update(webhookEndpoints).set({ ...changes, updatedAt: sql`now()` }).where(eq(webhookEndpoints.id, id)).returning();
    await audit(c, { action: 'webhook_endpoint.update', targetType: 'webhook_endpoint', targetId: id, data: { before: toEndpoint(before), after: toEndpoint(row!), changes } });
    return c.json(toEndpoint(row!), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const [row] = await c.var.tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning();
    if (!row) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    await audit(c, { action: 'webhook_endpoint.delete', targetType: 'webhook_endpoint', targetId: id, data: { before: toEndpoint(row) } });
    return c.json(toEndpoint(row), 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { limit, cursor, status } = c.req.valid('query');
    const [endpoint] = await c.var.tx.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (!endpoint) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    const rows = await c.var.tx
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.endpointId, id),
          status ? eq(webhookDeliveries.status, status) : undefined,
          beforeCursor(webhookDeliveries.receivedAt, webhookDeliveries.id, decodeCursor(cursor)),
        ),
      )
      .orderBy(...newestFirst(webhookDeliveries.receivedAt, webhookDeliveries.id))
      .limit(limit + 1);
    const result = page(rows.map((r) => ({ ...r, createdAt: r.receivedAt })), limit);
    return c.json({ data: result.data.map(toDelivery), nextCursor: result.nextCursor }, 200);
  });
}
