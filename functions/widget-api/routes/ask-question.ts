import { createRoute, z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { emitAudit } from '../../../db/audit/emit.ts';
import { reasonOf } from '../../../db/query-errors.ts';
import type { Tx } from '../../../db/tenant.ts';
import { widgetConfigs } from '../../../db/schema/helpdesk.ts';
import { supportMessages, supportTranscripts } from '../../../db/schema/transcripts.ts';
import type { Passage } from '../../../db/search/answerer.ts';
import { embedQuery, queueIndex } from '../../../db/search/index.ts';
import { addressBucket, requestAddress } from '../../../middleware/addresses.ts';
import type { AppEnv } from '../../../middleware/env.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { jsonBody, problem } from '../../../middleware/openapi.ts';
import { articleUrl, groundingPassages, notCoveredAnswer } from '../grounding.ts';
import { verifyVisitorToken, type VisitorClaims } from '../tokens.ts';
import { allowOrigin, assertOrigin, badToken, jsonInput, take, unknownWidget } from '../visitor-guard.ts';

export const askBody = z
  .object({
    // Refused before the stream starts: Postgres text cannot hold NUL, and the exchange is stored after the answer.
    question: z.string().regex(/^[^\u0000]*$/, 'must not contain NUL characters').openapi({ example: 'How do I delete my organization?' }),
  })
  .openapi('AskWidgetQuestion');

export const route = createRoute({
  method: 'post',
  path: '/widget/v1/conversations/{conversationId}/messages',
  tags: ['widget-api'],
  summary: 'Ask a question; the answer streams as Server-Sent Events',
  description:
    'Authorization: Bearer <visitor token>. Events: `answer` ({"text"}: a piece of the answer), `source` ({"n","title","url"}: a cited article), ' +
    '`end` ({"covered": bool}), `error` ({"message"}). The answer is composed only from the organization\'s published helpdesk articles; ' +
    'when they do not cover the question it says so and offers a human contact.',
  request: {
    params: z.object({ conversationId: z.string().openapi({ param: { name: 'conversationId', in: 'path' }, example: '3c9e6f4a-2b1d-4e8f-a7c6-5d4e3f2a1b0c' }) }),
    body: jsonBody(askBody),
  },
  responses: {
    200: { description: 'The answer, as an event stream.', content: { 'text/event-stream': { schema: z.string() } } },
    400: problem('Invalid body.'),
    401: problem('Missing, forged, expired or mismatched visitor token.'),
    403: problem("The page's origin is not allowed."),
    404: problem('The widget was disabled or its key changed.'),
    413: problem('The question is longer than allowed.'),
    429: problem('Too many questions for this visitor or widget; see Retry-After.'),
  },
});

/** The token's widget, as long as its key still belongs to the token's organization and names this widget; else 404. */
async function servingWidget(tx: Tx, orgId: string | null, visitor: VisitorClaims) {
  // The key moved to another organization's widget, was rotated or disabled: the token is stale.
  if (orgId !== visitor.o) throw unknownWidget();
  const [widget] = await tx.select().from(widgetConfigs);
  if (!widget || widget.publicKey !== visitor.k) throw unknownWidget();
  return widget;
}

/** The visitor token of the request, checked against the conversation in the path. */
function visitorOf(c: Context<AppEnv>, key: Buffer, conversationId: string): VisitorClaims {
  const header = c.req.header('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const claims = token ? verifyVisitorToken(key, token) : null;
  // A genuine token of another conversation (or organization) is as good as a forged one here.
  if (!claims || claims.c !== conversationId.toLowerCase()) {
    allowOrigin(c);
    throw badToken();
  }
  return claims;
}

export function registerAskQuestion(app: FunctionApp) {
  app.openAPIRegistry.registerPath(route);
  app.post('/widget/v1/conversations/:conversationId/messages', app.named, async (c) => {
    const platform = c.get('platform');
    const visitor = visitorOf(c, platform.widgetTokenKey, c.req.param('conversationId'));
    await take(c, platform.widgetLimiters.perVisitor, `${visitor.o}/${visitor.v}`, 'questions from this visitor');
    // Anonymous visitors are new in every conversation: the address bounds them all.
    await take(c, platform.widgetLimiters.questionsPerAddress, addressBucket(requestAddress(c)), 'questions from this address');
    const { question: raw } = await jsonInput(c, (v) => askBody.safeParse(v));
    const question = raw.trim();
    const { maxQuestionChars } = platform.config.widget;
    if (question.length > maxQuestionChars) {
      allowOrigin(c);
      throw new ApiError('payload_too_large', `Questions are limited to ${maxQuestionChars} characters.`, { errors: [{ path: 'json.question', message: 'too long' }] });
    }
    if (!question) throw new ApiError('invalid_request', 'Ask a question.', { errors: [{ path: 'json.question', message: 'empty' }] });

    // The widget, the page's origin and the conversation are checked first, in
    // a short transaction, so a refused request costs no embedding (a remote
    // embedder's time and money).
    await platform.database.withWidgetKey(visitor.k, async (tx, orgId) => {
      const widget = await servingWidget(tx, orgId, visitor);
      assertOrigin(c, widget.allowedOrigins);
      // Spent only by questions the widget serves (see the start route).
      await take(c, platform.widgetLimiters.perKey, visitor.k, 'requests for this widget');
      const [conversation] = await tx.select({ id: supportTranscripts.id }).from(supportTranscripts).where(eq(supportTranscripts.id, visitor.c));
      if (!conversation) throw badToken();
    });
    // Embedded between the two transactions (see embedQuery).
    const query = await embedQuery(platform.embedder, question);
    // Reading only: which passages may answer. Writes wait until the answer is whole.
    const grounding = await platform.database.withWidgetKey(visitor.k, async (tx, orgId) => {
      // Rotated, disabled or narrowed while the query was embedded: checked again.
      const widget = await servingWidget(tx, orgId, visitor);
      assertOrigin(c, widget.allowedOrigins);
      const passages = await groundingPassages(tx, { query, scoring: await platform.vectorScoring(tx) }, (slug) => articleUrl(platform.config.baseURL, widget.publicKey, slug));
      return { passages, contact: widget.contact };
    });

    return streamSSE(c, async (stream) => {
      const aborted = new AbortController();
      stream.onAbort(() => aborted.abort());
      const { passages } = grounding;
      let answer = '';
      let failed = false;
      if (passages.length === 0) {
        answer = notCoveredAnswer(grounding.contact);
        await stream.writeSSE({ event: 'answer', data: JSON.stringify({ text: answer }) });
      } else {
        try {
          for await (const piece of platform.answerer.answer(question, passages, aborted.signal)) {
            answer += piece;
            await stream.writeSSE({ event: 'answer', data: JSON.stringify({ text: piece }) });
          }
        } catch (error) {
          failed = true;
          platform.logger.warn({ reqId: c.get('requestId'), err: error, answerer: platform.answerer.name }, 'widget answer failed');
          await stream.writeSSE({ event: 'error', data: JSON.stringify({ message: 'The answer could not be completed. Please try again, or contact a person.' }) });
        }
      }
      const cited = passages.filter((p) => answer.includes(`[${p.n}]`));
      const sources = cited.length ? cited : failed ? [] : passages;
      for (const source of sources) await stream.writeSSE({ event: 'source', data: JSON.stringify({ n: source.n, title: source.title, url: source.url }) });
      try {
        await storeExchange(c, visitor, question, answer || '(no answer: the answering service failed)', sources, { covered: passages.length > 0, failed });
      } catch (error) {
        // After the 200 has gone: the visitor hears of it as an event, the
        // operator through the log (the database's words, not the query).
        // Caught here, not by streamSSE's onError, which would also send the
        // error's own message (drizzle's, with the query) to the visitor.
        platform.logger.error({ reqId: c.get('requestId'), reason: reasonOf(error) }, 'widget exchange could not be completed');
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ message: 'This exchange could not be saved. Please try again, or contact a person.' }) });
        return;
      }
      await stream.writeSSE({ event: 'end', data: JSON.stringify({ covered: passages.length > 0 && !failed }) });
    });
  });
}

/**
 * Appends the question and its answer (with citations) to the conversation's
 * transcript, with its audit row, in one transaction of the token's
 * organization. Messages are numbered under a per-conversation lock, so two
 * questions at once cannot take the same position.
 */
async function storeExchange(
  c: Context<AppEnv>,
  visitor: VisitorClaims,
  question: string,
  answer: string,
  sources: Passage[],
  outcome: { covered: boolean; failed: boolean },
) {
  const platform = c.get('platform');
  await platform.database.withTenant(visitor.o, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`widget:${visitor.c}`}, 0))`);
    const [next] = await tx
      .select({ position: sql<number>`coalesce(max(${supportMessages.position}) + 1, 0)::int` })
      .from(supportMessages)
      .where(eq(supportMessages.transcriptId, visitor.c));
    const position = next!.position;
    await tx.insert(supportMessages).values([
      { orgId: visitor.o, transcriptId: visitor.c, position, role: 'visitor', content: question, citations: [] },
      { orgId: visitor.o, transcriptId: visitor.c, position: position + 1, role: 'assistant', content: answer, citations: sources.map((s) => ({ title: s.title, url: s.url })) },
    ]);
    await queueIndex(tx, { type: 'support_transcript', id: visitor.c });
    await emitAudit(
      tx,
      { orgId: visitor.o, actor: { type: 'widget_visitor', id: visitor.v }, requestId: c.get('requestId'), ip: requestAddress(c) ?? null, signer: platform.auditSigner },
      // Counts, not content: the transcript holds the words, and can be deleted; the audit log cannot.
      { action: 'support_transcript.widget_message', targetType: 'support_transcript', targetId: visitor.c, data: { position, citations: sources.length, answerer: platform.answerer.name, ...outcome } },
    );
  });
}
