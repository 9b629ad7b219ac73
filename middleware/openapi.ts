import { z } from '@hono/zod-openapi';

/** The problem+json body, for route declarations. */
export const problemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:kommit:problem:not-found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().openapi({ description: 'The request id.' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/** Error responses every tenant route can give. */
export const commonErrors = {
  400: problem('The request is not valid; `errors` names the fields.'),
  401: problem('No valid credential.'),
  403: problem('Not allowed, or not over HTTPS.'),
  422: problem('A text or list is longer than its field takes; `errors` names the fields.'),
  500: problem('Internal error; nothing was written.'),
} as const;

const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A moment as RFC 3339 with an offset, one Postgres can hold and the API can
 * give back: zod takes year 0000, which Postgres refuses (1 BC comes right
 * before AD 1), and a streamed answer would then fail after its 200 had gone
 * out; and times come back in UTC, where "9999-12-31T23:59:59-14:00" would be
 * the year 10000, which is no RFC 3339 time. The upper bound stops a
 * millisecond short, so Postgres's rounding to the microsecond cannot carry a
 * time into the next year.
 */
export const dateTimeSchema = () =>
  z.iso
    .datetime({ offset: true })
    .refine((value) => !value.startsWith('0000'), 'there is no year 0000; years start at 0001')
    .refine((value) => {
      const at = Date.parse(value);
      return at >= FIRST_INSTANT && at < LAST_INSTANT;
    }, 'the instant, in UTC, falls between 0001-01-01 and 9999-12-31');

/**
 * A route for people only: a signed-in member's session cookie, never an API
 * key (its handler calls requireRole). The document's default is either.
 */
export const SESSION_ONLY = [{ session: [] }];

export const notFoundError = { 404: problem('No such resource in this organization.') } as const;
/** For the writes an archived project refuses (db/projects.ts holdProjectForWork) and nothing else answers 409 for. */
export const projectArchivedError = { 409: problem('The project is archived (unarchive it first).') } as const;

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

type Response = { description?: string; content?: Record<string, unknown> };
type Operation = { requestBody?: unknown; responses?: Record<string, Response> };
type Document = { paths?: Record<string, Record<string, Operation>> };

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

/** Answers the platform's middleware can give on any route, before its handler runs. */
const PLATFORM_ERRORS: Record<string, string> = {
  429: 'Too many requests from this address, key or user; Retry-After says when to try again.',
  503: 'The database is busy or out of reach; nothing was written. Retry-After says when to try again.',
};
/** ...and on any route that takes a body. */
const BODY_ERRORS: Record<string, string> = {
  413: 'The body is over the size limit.',
  415: 'The body is not of the media type the route takes.',
};

/**
 * Completes the document's error answers: every operation lists the errors
 * the shared middleware gives, and every error answer says its body is
 * problem+json, as it always is (onError), where a route gave only a description.
 */
export function withPlatformErrors<T extends Document>(document: T): T {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      const responses = (operation.responses ??= {});
      const added = { ...PLATFORM_ERRORS, ...(operation.requestBody ? BODY_ERRORS : {}) };
      for (const [status, description] of Object.entries(added)) responses[status] ??= { description };
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400 && !response.content) response.content = PROBLEM_CONTENT;
      }
    }
  }
  return document;
}
