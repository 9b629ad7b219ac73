import { z } from '@hono/zod-openapi';
import { deliveryStatuses, webhookTargets, type webhookDeliveries, type webhookEndpoints } from '../../db/schema/webhooks.ts';

const ENDPOINT_ID = '3f1c2b7e-9d4a-4b8e-a1c6-5e2f7d9b0a13';

export const endpointIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: ENDPOINT_ID }),
});

export const endpointSchema = z
  .object({
    id: z.uuid().openapi({ example: ENDPOINT_ID }),
    name: z.string().openapi({ example: 'CRM deal updates' }),
    projectId: z.uuid().openapi({ example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
    target: z.enum(webhookTargets).openapi({ description: 'What a delivery becomes.', example: 'decision_event' }),
    workflowId: z.uuid().nullable().openapi({ description: 'The workflow a workflow_run endpoint starts.', example: null }),
    enabled: z.boolean().openapi({ example: true }),
    url: z.string().openapi({ description: 'Where the customer system POSTs, relative to this deployment.', example: `/hooks/${ENDPOINT_ID}` }),
    previousSecretExpiresAt: z.string().nullable().openapi({ description: 'Until then the secret before the last rotation still verifies.', example: null }),
    createdAt: z.string().openapi({ example: '2026-11-26T08:00:00.123456Z' }),
    updatedAt: z.string().openapi({ example: '2026-11-26T08:00:00.123456Z' }),
  })
  .openapi('WebhookEndpoint');

export const endpointWithSecretSchema = endpointSchema
  .extend({
    secret: z.string().openapi({ description: 'The signing secret (Standard Webhooks). Shown this once.', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
  })
  .openapi('WebhookEndpointWithSecret');

export type EndpointRow = typeof webhookEndpoints.$inferSelect;

export function toEndpoint(row: EndpointRow) {
  return {
    id: row.id,
    name: row.name,
    projectId: row.projectId,
    target: row.target,
    workflowId: row.workflowId,
    enabled: row.enabled,
    url: `/hooks/${row.id}`,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const deliverySchema = z
  .object({
    id: z.uuid(),
    messageId: z.string().openapi({ description: 'The webhook-id header: the idempotency key.', example: 'msg_2mGq8a1' }),
    sentAt: z.string().openapi({ description: 'The webhook-timestamp header.', example: '2026-11-26T08:00:00Z' }),
    status: z.enum(deliveryStatuses).openapi({ example: 'processed' }),
    attempts: z.number().int().openapi({ example: 1 }),
    lastError: z.string().nullable().openapi({ example: null }),
    result: z.object({ type: z.string(), id: z.uuid() }).nullable().openapi({ description: 'What the delivery became.' }),
    receivedAt: z.string(),
    processedAt: z.string().nullable(),
  })
  .openapi('WebhookDelivery');

export function toDelivery(row: typeof webhookDeliveries.$inferSelect) {
  return {
    id: row.id,
    messageId: row.messageId,
    sentAt: row.sentAt,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    result: row.resultType && row.resultId ? { type: row.resultType, id: row.resultId } : null,
    receivedAt: row.receivedAt,
    processedAt: row.processedAt,
  };
}
