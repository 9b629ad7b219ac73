import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Webhook } from 'standardwebhooks';
import { webhookDeliveries } from '../../db/schema/webhooks.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError, problemResponse } from '../../middleware/errors.ts';
import type { FunctionApp } from '../../middleware/function-app.ts';
import { refuseWhileSpent, takeRequest } from '../../middleware/request-limits.ts';
import { addressBucket, requestAddress } from '../../middleware/addresses.ts';
import { jsonResponse, problem } from '../../middleware/openapi.ts';
import { isUuid } from '../../db/tenant.ts';
import { parseDeliveryJson } from './body.ts';

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
const TOLERANCE_SECONDS = 5 * 60;
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
    body: {
      required: true,
      description:
        'For an endpoint whose target is `decision_event` or `workflow_run`, a JSON object (the event or the run to start). ' +
        'For a `raw_event` endpoint, any UTF-8 text, stored as it came; the content type is not checked, the signature covers the bytes. ' +
        'A leading byte order mark is part of those bytes: it is verified and stored with the body, and skipped when JSON is parsed.',
      content: {
        'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ example: { title: 'Deal won', rationale: 'Signed by the customer' } }) },
        'text/plain': { schema: z.string().openapi({ example: 'order 1042 shipped' }) },
      },
    },
  },
  responses: {
    202: jsonResponse(z.object({ id: z.uuid(), status: z.literal('received') }).openapi('WebhookReceipt'), 'Verified and stored.'),
    200: jsonResponse(z.object({ id: z.uuid(), status: z.literal('duplicate') }).openapi('WebhookDuplicate'), 'Already received; nothing stored.'),
    400: problem('Missing headers, a timestamp outside five minutes, or a body that is not UTF-8 (or not JSON where JSON is expected).'),
    404: problem('Unknown or disabled endpoint, or a signature that does not verify.'),
    413: problem('The body is over the limit.'),
    429: problem(
      'Too many verified deliveries to this endpoint, or too many deliveries from this client address whose signature did not verify ' +
        '(the two are counted apart: unsigned requests never spend the endpoint’s budget); see Retry-After.',
    ),
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

interface EndpointSecrets {
  org_id: string;
  target: string;
  sealed_secret: string;
  /** Present while a rotation's overlap lasts. */
  sealed_previous_secret: string | null;
}

/** The current secret, or during a rotation's overlap the previous one, signed this delivery. */
function signatureVerifies(c: Context<AppEnv>, endpointId: string, endpoint: EndpointSecrets, body: string, headers: Record<string, string>) {
  const { secretBox } = c.get('platform');
  return (
    verifies(secretBox.open(endpoint.sealed_secret, endpointId), body, headers) ||
    (endpoint.sealed_previous_secret !== null && verifies(secretBox.open(endpoint.sealed_previous_secret, endpointId), body, headers))
  );
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
    // Lower-case: the sealed secrets are bound to the id as stored.
    const endpointId = c.req.param('endpointId').toLowerCase();
    const headers = requiredHeaders(c);
    if (!isUuid(endpointId)) throw refused();
    const { database, webhookLimiter, webhookFailureLimiter } = c.get('platform');
    // Two budgets. The endpoint's is spent only by deliveries that verified, so
    // someone who knows its URL but not its secret cannot use it up for the
    // real sender. Failures have their own, per client address and endpoint,
    // checked before any work; an unknown endpoint counts as a failure, so
    // neither budget tells whether an endpoint exists.
    const failureKey = `${addressBucket(requestAddress(c))} ${endpointId}`;
    const failing = 'whose signature does not verify from this address';
    await refuseWhileSpent(webhookFailureLimiter, failureKey, failing);
    let body: string;
    try {
      // ignoreBOM keeps a leading byte order mark: the signature covers it, and the body is stored as sent.
      body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(await c.req.arrayBuffer());
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError('invalid_request', 'The body is not UTF-8 text.');
    }

    // Two statements, no explicit transaction: each is its own, and the
    // second enters the endpoint's organization before its row is checked.
    const [endpoint] = await database.sql<EndpointSecrets[]>`select * from kommit_webhook_endpoint_secrets(${endpointId})`;
    if (!endpoint) verifies(DECOY, body, headers);
    if (!endpoint || !signatureVerifies(c, endpointId, endpoint, body, headers)) {
      await takeRequest(webhookFailureLimiter, failureKey, failing);
      throw refused();
    }
    await takeRequest(webhookLimiter, endpointId, 'to this endpoint');
    // Only a sender holding the secret gets this far, and learns these answers.
    if (JSON_TARGETS.has(endpoint.target)) {
      try {
        parseDeliveryJson(body);
      } catch {
        throw new ApiError('invalid_request', `This endpoint turns deliveries into ${endpoint.target.replace('_', ' ')}s: the body must be JSON.`);
      }
    }
    // The insert passes row-level security only in the context the CTE set; it
    // fails closed (an error, no row) if that ever ran late.
    const [stored] = await database.sql<{ id: string }[]>`
      with entered as materialized (select kommit_enter_webhook_endpoint(${endpointId}) as org_id)
      insert into webhook_deliveries (org_id, endpoint_id, message_id, sent_at, body)
      select org_id, ${endpointId}, ${headers['webhook-id']}, to_timestamp(${Number(headers['webhook-timestamp'])}), ${body}
      from entered where org_id = ${endpoint.org_id}
      on conflict (org_id, endpoint_id, message_id) do nothing
      returning id`;
    // No job here: the row is the outbox the worker's relay picks up (see tasks.ts).
    const outcome = stored
      ? { id: stored.id, status: 'received' as const }
      : await database.withTenant(endpoint.org_id, async (tx) => {
          // A redelivery, or the endpoint was disabled a moment ago.
          const [earlier] = await tx
            .select({ id: webhookDeliveries.id })
            .from(webhookDeliveries)
            .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.messageId, headers['webhook-id'])));
          if (!earlier) throw refused();
          return { id: earlier.id, status: 'duplicate' as const };
        });
    return c.json(outcome, outcome.status === 'received' ? 202 : 200);
  });
}
