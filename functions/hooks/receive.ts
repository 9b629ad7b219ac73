import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { Webhook } from 'standardwebhooks';
import { enqueue } from '../../db/jobs/queue.ts';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema/webhooks.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError, problemResponse } from '../../middleware/errors.ts';
import type { FunctionApp } from '../../middleware/function-app.ts';
import { jsonResponse, problem } from '../../middleware/openapi.ts';

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
const TOLERANCE_SECONDS = 5 * 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Targets whose deliveries must be JSON; raw events may be any UTF-8 text. */
const JSON_TARGETS = new Set(['decision_event', 'workflow_run']);
// Verifies nothing real: run when the endpoint is unknown so that case costs about what a bad signature does.
const DECOY = new Webhook(`whsec_${Buffer.alloc(24).toString('base64')}`);

/**
 * One answer for an unknown endpoint, a disabled one, and a signature that
 * does not verify: a sender learns nothing about endpoint ids it has no secret for.
 */
const refused = () => new ApiError('not_found', 'No enabled webhook endpoint with this id accepts this signature.');

export const route = createRoute({
  method: 'post',
  path: '/hooks/{endpointId}',
  tags: ['webhooks'],
  summary: 'Receive a delivery from a customer system (Standard Webhooks signature)',
  description:
    'Signed per Standard Webhooks: HMAC-SHA256 over `webhook-id.webhook-timestamp.body` with the endpoint secret. ' +
    'Answered 202 once the verified delivery is stored; a redelivery (same webhook-id) answers 200 and stores nothing.',
  request: {
    params: z.object({ endpointId: z.string().openapi({ param: { name: 'endpointId', in: 'path' }, example: '3f1c2b7e-9d4a-4b8e-a1c6-5e2f7d9b0a13' }) }),
    headers: z.object({
      'webhook-id': z.string().openapi({ example: 'msg_2mGq8a1' }),
      'webhook-timestamp': z.string().openapi({ example: '1795680000' }),
      'webhook-signature': z.string().openapi({ example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' }),
    }),
    body: { required: true, content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ example: { title: 'Deal won', rationale: 'Signed by the customer' } }) } } },
  },
  responses: {
    202: jsonResponse(z.object({ id: z.uuid(), status: z.literal('received') }).openapi('WebhookReceipt'), 'Verified and stored.'),
    200: jsonResponse(z.object({ id: z.uuid(), status: z.literal('duplicate') }).openapi('WebhookDuplicate'), 'Already received; nothing stored.'),
    400: problem('Missing headers, a timestamp outside five minutes, or a body that is not UTF-8 (or not JSON where JSON is expected).'),
    404: problem('Unknown or disabled endpoint, or a signature that does not verify.'),
    413: problem('The body is over the limit.'),
    429: problem('Too many deliveries to this endpoint; see Retry-After.'),
  },
});

/** The delivery size limit, enforced while reading: an oversized body is refused before it is all in. */
function deliveryBodyLimit(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const { maxBodyBytes } = c.get('platform').config.webhooks;
    return bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => problemResponse(c as Context<AppEnv>, new ApiError('payload_too_large', `Deliveries are limited to ${maxBodyBytes} bytes.`)),
    })(c, next);
  };
}

function requiredHeaders(c: Context<AppEnv>) {
  const headers = { 'webhook-id': c.req.header('webhook-id'), 'webhook-timestamp': c.req.header('webhook-timestamp'), 'webhook-signature': c.req.header('webhook-signature') };
  const missing = Object.entries(headers).filter(([, value]) => !value);
  if (missing.length) {
    throw new ApiError('invalid_request', 'Standard Webhooks headers are missing.', {
      errors: missing.map(([name]) => ({ path: `header.${name}`, message: 'required' })),
    });
  }
  if (headers['webhook-id']!.length > 200) throw new ApiError('invalid_request', 'webhook-id is longer than 200 characters.', { errors: [{ path: 'header.webhook-id', message: 'too long' }] });
  const timestamp = Number(headers['webhook-timestamp']);
  if (!/^\d{1,12}$/.test(headers['webhook-timestamp']!) || Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS) {
    throw new ApiError('invalid_request', 'webhook-timestamp must be Unix seconds within five minutes of now.', { errors: [{ path: 'header.webhook-timestamp', message: 'outside tolerance' }] });
  }
  return headers as Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;
}

async function takeRateLimit(c: Context<AppEnv>, endpointId: string) {
  try {
    await c.get('platform').webhookLimiter.consume(endpointId);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new ApiError('rate_limited', `Too many deliveries to this endpoint; try again in ${retryAfter} s.`, { headers: { 'retry-after': String(retryAfter) } });
  }
}

function verifies(secret: string | Webhook, body: string, headers: Record<string, string>) {
  try {
    (typeof secret === 'string' ? new Webhook(secret) : secret).verify(body, headers, { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

export function registerReceive(app: FunctionApp) {
  app.openAPIRegistry.registerPath(route);
  app.post('/hooks/:endpointId', app.named, deliveryBodyLimit(), async (c) => {
    const endpointId = c.req.param('endpointId');
    const headers = requiredHeaders(c);
    if (!UUID.test(endpointId)) throw refused();
    // Counted per endpoint id whether or not it exists, so the limit reveals nothing either.
    await takeRateLimit(c, endpointId.toLowerCase());
    let body: string;
    try {
      body = new TextDecoder('utf-8', { fatal: true }).decode(await c.req.arrayBuffer());
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError('invalid_request', 'The body is not UTF-8 text.');
    }
    const { database, secretBox } = c.get('platform');

    const outcome = await database.db.transaction(async (tx) => {
      const [entered] = await tx.execute<{ org_id: string | null }>(sql`select kommit_enter_webhook_endpoint(${endpointId}) as org_id`);
      const orgId = entered?.org_id;
      const [endpoint] = orgId ? await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)) : [];
      if (!orgId || !endpoint) {
        verifies(DECOY, body, headers);
        throw refused();
      }
      const previousValid = endpoint.sealedPreviousSecret && endpoint.previousSecretExpiresAt && Date.parse(endpoint.previousSecretExpiresAt.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')) > Date.now();
      const ok =
        verifies(secretBox.open(endpoint.sealedSecret, endpoint.id), body, headers) ||
        (previousValid && verifies(secretBox.open(endpoint.sealedPreviousSecret!, endpoint.id), body, headers));
      if (!ok) throw refused();
      // Only a sender holding the secret gets this far, and learns these answers.
      if (JSON_TARGETS.has(endpoint.target)) {
        try {
          JSON.parse(body);
        } catch {
          throw new ApiError('invalid_request', `This endpoint turns deliveries into ${endpoint.target.replace('_', ' ')}s: the body must be JSON.`);
        }
      }
      const [stored] = await tx
        .insert(webhookDeliveries)
        .values({
          orgId,
          endpointId,
          messageId: headers['webhook-id'],
          sentAt: sql`to_timestamp(${Number(headers['webhook-timestamp'])})`,
          body,
        })
        .onConflictDoNothing({ target: [webhookDeliveries.orgId, webhookDeliveries.endpointId, webhookDeliveries.messageId] })
        .returning({ id: webhookDeliveries.id });
      if (!stored) {
        const [earlier] = await tx
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.messageId, headers['webhook-id'])));
        return { id: earlier!.id, status: 'duplicate' as const };
      }
      await enqueue(tx, 'webhook.process', { deliveryId: stored.id }, `webhook.process:${stored.id}`);
      return { id: stored.id, status: 'received' as const };
    });
    return c.json(outcome, outcome.status === 'received' ? 202 : 200);
  });
}
