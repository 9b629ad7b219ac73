import { createRoute, z } from '@hono/zod-openapi';
import { RotationOverlapRunning, rotateWebhookSecret } from '../../../db/webhooks.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
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
  security: SESSION_ONLY,
  tags: ['webhooks'],
  summary: 'Replace the signing secret; the old one verifies for the overlap window',
  description:
    'The endpoint keeps one previous secret. While a rotation’s overlap runs (until `previousSecretExpiresAt`), another rotation ' +
    'with an overlap is refused with 409: it would have to drop one of the two secrets that verify, and the sender may still sign ' +
    'with either, so deliveries would be lost. Finish moving the sender to the current secret and rotate again once that time has ' +
    'passed. A rotation with `overlapMinutes: 0` is always carried out: it stops every earlier secret at once (for a leaked secret).',
  request: { params: endpointIdParams, body: jsonBody(rotateSecretBody) },
  responses: {
    200: jsonResponse(endpointWithSecretSchema, 'The endpoint, with its new secret (shown once).'),
    ...commonErrors,
    ...notFoundError,
    409: problem('The previous rotation’s overlap still runs; `previousSecretExpiresAt` in the body says until when. Nothing changed.'),
  },
});

export function registerRotateSecret(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const { overlapMinutes } = c.req.valid('json');
    const rotated = await rotateWebhookSecret(c.var.tx, c.get('platform').secretBox, id, overlapMinutes).catch((error: unknown) => {
      if (!(error instanceof RotationOverlapRunning)) throw error;
      throw new ApiError(
        'conflict',
        `The previous secret still verifies until ${error.previousSecretExpiresAt}: rotating again with an overlap would cut off one of the two secrets the sender may sign with. ` +
          'Rotate again after that time, or with overlapMinutes 0 to stop every earlier secret now.',
        { extensions: { previousSecretExpiresAt: error.previousSecretExpiresAt } },
      );
    });
    if (!rotated) throw new ApiError('not_found', 'No webhook endpoint with this id.');
    await audit(c, { action: 'webhook_endpoint.rotate_secret', targetType: 'webhook_endpoint', targetId: id, data: { overlapMinutes, previousSecretExpiresAt: rotated.row.previousSecretExpiresAt } });
    return c.json({ ...toEndpoint(rotated.row), secret: rotated.secret }, 200);
  });
}
