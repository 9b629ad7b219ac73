import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { DatabaseBusyError } from '../db/admission.ts';
import { EmbedderUnavailable } from '../db/search/embedder.ts';
import { constraintOf, sqlStateOf } from '../db/query-errors.ts';
import type { AppEnv } from './env.ts';

/** The closed set of errors the API answers with. */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'Not allowed' },
  reauthentication_required: { status: 403, title: 'Confirm who you are to do this' },
  tls_required: { status: 403, title: 'HTTPS is required' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  // Its own type, so a client can tell "unarchive the project" from a conflict with the resource itself.
  project_archived: { status: 409, title: 'The project is archived' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unprocessable: { status: 422, title: 'The request cannot be carried out' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface FieldError {
  path: string;
  message: string;
}

export interface ApiErrorOptions {
  /** Field-level problems of invalid input. */
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the problem body (RFC 9457 extensions). */
  extensions?: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly options: ApiErrorOptions = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
  }
}

export function problemResponse(c: Context<AppEnv>, error: ApiError) {
  const { status, title } = PROBLEMS[error.code];
  const body = {
    type: `urn:kommit:problem:${error.code.replaceAll('_', '-')}`,
    title,
    status,
    detail: error.detail ?? title,
    instance: c.get('requestId'),
    ...error.options.extensions,
    ...(error.options.errors ? { errors: error.options.errors } : {}),
  };
  return c.body(JSON.stringify(body), status, {
    'content-type': 'application/problem+json',
    ...error.options.headers,
  });
}

export function fieldErrors(error: ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    // A field the schema does not know is named by its own path, one error each.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'not a known field' }))
      : [{ path: issue.path.join('.') || '(root)', message: issue.message }],
  );
}

/** Text longer, or a list longer, than the field takes. */
const oversized = (issue: ZodError['issues'][number]) => issue.code === 'too_big' && (issue.origin === 'string' || issue.origin === 'array');

/**
 * The defaultHook of every OpenAPIHono app: invalid input answers 400 with
 * field paths; input whose only fault is its size (text or lists longer than
 * the fields take) 422, as other oversized requests do, so a client can tell
 * "shorten it" from "fix it".
 */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }, c: Context<AppEnv>) {
  if (!result.success) {
    const error = result.error as ZodError;
    const errors = fieldErrors(error).map((e) => ({ ...e, path: `${result.target}.${e.path}` }));
    if (error.issues.length && error.issues.every(oversized)) {
      return problemResponse(c, new ApiError('unprocessable', 'Some fields are longer than they may be.', { errors }));
    }
    return problemResponse(c, new ApiError('invalid_request', 'Some fields are not valid.', { errors }));
  }
}

export const HTTP_STATUS_CODES: Partial<Record<number, ProblemCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  503: 'unavailable',
};

/**
 * What an error means to the client, when it is not a fault in our code: our
 * own ApiError, Hono's 4xx, a database that cannot serve (503), a value
 * Postgres refuses (400). Undefined for anything else, which is a 500.
 * The API (onError) and the console's pages both answer by it.
 */
export function problemOf(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException && HTTP_STATUS_CODES[error.status]) {
    // Hono's own 4xx (malformed JSON and the like): its message is safe to show.
    return new ApiError(HTTP_STATUS_CODES[error.status]!, error.message || undefined);
  }
  if (error instanceof DatabaseBusyError || databaseUnreachable(error)) {
    return new ApiError('unavailable', 'The database is busy or unreachable; try again shortly.', { headers: { 'retry-after': '2' } });
  }
  const state = sqlStateOf(error);
  // SQLSTATE class 40: Postgres rolled the transaction back to resolve a
  // collision with a concurrent one (a deadlock, a serialization failure).
  // Nothing was written, and the same request will most likely pass again.
  if (state?.startsWith('40')) {
    return new ApiError('unavailable', 'The request collided with a concurrent change and was rolled back; nothing was written. Try again.', { headers: { 'retry-after': '1' } });
  }
  // Conflicts with the state another request left, which the database refused
  // (our own checks ran before it committed). Routes that expect one answer it
  // in their own words first (a taken slug); these are the rest.
  // 23503 (foreign key violation): routes look a parent up (key-share locked)
  // before writing under it, so this is a parent deleted by a concurrent
  // request in a window a route left open: the client's state is stale, not our fault.
  if (state === '23503') return new ApiError('conflict', 'Something this request refers to was deleted while it ran; nothing was written.');
  // Not the audit chains' own keys (seq, prev_hash, checkpoints): appends serialize on the chain head, so a
  // duplicate there is a fork our code let through, a 500 to look into, never the client's conflict.
  if (state === '23505' && !/^(platform_)?audit_/.test(constraintOf(error) ?? '')) {
    return new ApiError('conflict', 'This conflicts with one that already exists (perhaps made by a request sent at the same time); nothing was written.');
  }
  if (state === '23514' && constraintOf(error) === 'members_keep_an_owner') {
    return new ApiError('conflict', 'An organization keeps at least one owner: make another member owner first (another owner may have just stepped down).');
  }
  // A member or invitation added to an organization whose deletion was requested (migration 0038).
  if (state === '55000' && constraintOf(error) === 'organization_being_deleted') return new ApiError('conflict', 'The organization is being deleted; nothing can be added to it.');
  if (error instanceof EmbedderUnavailable) {
    return new ApiError('unavailable', 'The embedding service is not answering; try again shortly.', { headers: { 'retry-after': '5' } });
  }
  // SQLSTATE class 22 (data exception): a value Postgres cannot take (a NUL
  // character, an impossible date). The input was wrong, not the server.
  if (state?.startsWith('22')) {
    return new ApiError('invalid_request', 'A value in the request cannot be stored or compared (for example a NUL character or an impossible date).');
  }
  return undefined;
}

export function onError(error: Error, c: Context<AppEnv>) {
  const problem = problemOf(error);
  const logger = c.get('platform')?.logger;
  if (!problem) {
    logger?.error({ reqId: c.get('requestId'), err: error }, 'unhandled error');
    return problemResponse(c, new ApiError('internal', 'Something went wrong on our side; the request id identifies it.'));
  }
  if (error instanceof DatabaseBusyError || databaseUnreachable(error)) logger?.warn({ reqId: c.get('requestId'), err: error }, 'database unavailable');
  // Each one is a lock order worth finding, though the client's retry passes.
  else if (/^(40|23503|23505)/.test(sqlStateOf(error) ?? '')) logger?.warn({ reqId: c.get('requestId'), err: error }, 'request lost a race with a concurrent one');
  return problemResponse(c, problem);
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/**
 * The database went away or refused us: network errors, server shutdown or
 * start-up (57P01-57P03), connection failures (class 08), too many
 * connections (53300), a statement cancelled by its timeout (57014).
 */
function databaseUnreachable(error: unknown): boolean {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    const code = typeof current.code === 'string' ? current.code : '';
    if (UNREACHABLE_CODES.has(code) || /^(57P0[123]|08...|53300|57014)$/.test(code)) return true;
  }
  return false;
}

export function notFound(c: Context<AppEnv>) {
  return problemResponse(c, new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`));
}
