import { createRoute, z } from '@hono/zod-openapi';
import { rotateWebhookSecret } from '../../../db/webhooks.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { endpointIdParams, endpointWithSecretSchema, toEndpoint } from '../schemas.ts';

export const rotateSecretBody = z
  .object({
    overlapMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60).openapi({
      description: 'How long the current secret keeps verifying next to the new one (0: not at all).',
      example: 60,
    }),
  })
  .openapi('RotateWebhookSecret', { example: { overlapMinutes: 60 } });

export const route = createRoute({
  method: 'post',
  path: '/v1/webhook-endpoints/{id}/rotate-secret',
  tags: ['webhooks'],
  summary: 'Replace the signing secret; the old one verifies for the overlap window',
  request: { params: endpointIdParams, body: jsonBody(rotateSecretBody) },
  responses: { 200: jsonResponse(endpointWithSecretSchema, 'The endpoint, with its new secret (shown once).'), ...commonErrors, ...notFoundError },
});

export function registerRotateSecret(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const { overlapMinutes } = c.req.valid('json');
    const rotated = await rotateWebhookSecret(c.var.tx, c.get('platform').secretBox, id, overlapMinutes);
    if (!rotated) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    await audit(c, { action: 'webhook_endpoint.rotate_secret', targetType: 'webhook_endpoint', targetId: id, data: { overlapMinutes, previousSecretExpiresAt: rotated.row.previousSecretExpiresAt } });
    return c.json({ ...toEndpoint(rotated.row), secret: rotated.secret }, 200);
  });
}
