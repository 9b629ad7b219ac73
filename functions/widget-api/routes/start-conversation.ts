import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { emitAudit } from '../../../db/audit/emit.ts';
import { widgetConfigs } from '../../../db/schema/helpdesk.ts';
import { supportTranscripts } from '../../../db/schema/transcripts.ts';
import { addressBucket, requestAddress } from '../../../middleware/addresses.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { jsonBody, jsonResponse, problem } from '../../../middleware/openapi.ts';
import { identityVerifies, signVisitorToken } from '../tokens.ts';
import { assertOrigin, jsonInput, take, unknownWidget } from '../visitor-guard.ts';

export const startBody = z
  .object({
    key: z.string().min(1).max(100).openapi({ description: 'The public widget key (pk_...).', example: 'pk_Qm9vZ2llV29vZ2llQm9vZ2llV29v' }),
    visitor: z
      .object({
        id: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
        signature: z.string().max(200).openapi({ description: 'Hex HMAC-SHA256 of id under the identity-verification secret, made by your server.' }),
      })
      .optional()
      .openapi({ description: 'A signed-in visitor, vouched for by your server; anonymous without it.' }),
  })
  .openapi('StartWidgetConversation');

const startResult = z
  .object({
    conversationId: z.uuid(),
    token: z.string().openapi({ description: 'The visitor token for this conversation: Authorization: Bearer <token>.' }),
    expiresAt: z.string(),
    visitor: z.object({ id: z.string(), verified: z.boolean() }),
    widget: z.object({ greeting: z.string(), accentColor: z.string(), textColor: z.string() }),
  })
  .openapi('WidgetConversation');

export const route = createRoute({
  method: 'post',
  path: '/widget/v1/conversations',
  tags: ['widget-api'],
  summary: 'Start a chat-widget conversation (public; from an allowed origin)',
  description: "Called by widget.js on a customer page. The Origin must be one of the widget's allowed origins. Returns a short-lived visitor token bound to the organization, widget key, visitor and conversation.",
  request: { body: jsonBody(startBody) },
  responses: {
    201: jsonResponse(startResult, 'The conversation and its visitor token.'),
    400: problem('Invalid body.'),
    403: problem("The page's origin is not allowed, or the visitor's identity did not verify."),
    404: problem('Unknown or disabled widget key.'),
    429: problem('Too many requests for this widget key, or conversations from this address; see Retry-After.'),
  },
});

export function registerStartConversation(app: FunctionApp) {
  app.openAPIRegistry.registerPath(route);
  app.post('/widget/v1/conversations', app.named, async (c) => {
    const input = await jsonInput(c, (v) => startBody.safeParse(v));
    const platform = c.get('platform');
    // Anonymous visitors cost nothing to mint: one address may not start conversations (and transcripts) at speed.
    await take(c, platform.widgetLimiters.startsPerAddress, addressBucket(requestAddress(c)), 'conversations started from this address');
    const result = await platform.database.withWidgetKey(input.key, async (tx, orgId) => {
      if (!orgId) throw unknownWidget();
      // Under row-level security now: only this organization's widget is visible.
      const [widget] = await tx.select().from(widgetConfigs);
      if (!widget || widget.publicKey !== input.key) throw unknownWidget();
      assertOrigin(c, widget.allowedOrigins);
      // The widget's shared budget is spent only by requests it serves: refused
      // ones (a foreign origin, an address over its limit) cannot use it up for
      // the organization's real visitors.
      await take(c, platform.widgetLimiters.perKey, input.key, 'requests for this widget');
      let visitor = { id: `anon_${randomUUID()}`, verified: false };
      if (input.visitor) {
        const secret = widget.sealedIdentitySecret ? platform.secretBox.open(widget.sealedIdentitySecret, widget.id) : null;
        if (!secret || !identityVerifies(secret, input.visitor.id, input.visitor.signature)) {
          throw new ApiError('forbidden', "The visitor's identity could not be verified.");
        }
        visitor = { id: input.visitor.id, verified: true };
      }
      const [transcript] = await tx
        .insert(supportTranscripts)
        .values({ orgId, channel: 'widget', visitorRef: visitor.id, visitorVerified: visitor.verified })
        .returning();
      await emitAudit(
        tx,
        { orgId, actor: { type: 'widget_visitor', id: visitor.id }, requestId: c.get('requestId'), ip: requestAddress(c) ?? null, signer: platform.auditSigner },
        { action: 'support_transcript.widget_start', targetType: 'support_transcript', targetId: transcript!.id, data: { verified: visitor.verified, origin: c.req.header('origin') ?? null } },
      );
      const exp = Math.floor(Date.now() / 1000) + platform.config.widget.tokenTtlSeconds;
      const token = signVisitorToken(platform.widgetTokenKey, { o: orgId, k: widget.publicKey, v: visitor.id, vv: visitor.verified, c: transcript!.id, exp });
      return {
        conversationId: transcript!.id,
        token,
        expiresAt: new Date(exp * 1000).toISOString(),
        visitor,
        widget: { greeting: widget.greeting, accentColor: widget.accentColor, textColor: widget.textColor },
      };
    });
    return c.json(result, 201);
  });
}
