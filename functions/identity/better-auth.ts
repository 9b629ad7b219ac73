import type { Context } from 'hono';
import { isUuid } from '../../db/tenant.ts';
import { requestAddress, withClientAddress } from '../../middleware/addresses.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError, HTTP_STATUS_CODES, problemResponse, type FieldError } from '../../middleware/errors.ts';

const SIGN_IN = '/api/auth/sign-in/email';
const SIGN_UP = '/api/auth/sign-up/email';
const LIST_MEMBERS = '/api/auth/organization/list-members';

/**
 * Better Auth endpoints that take the account's password and tell whether it
 * was right (node_modules/better-auth/dist/api/routes: sign-in.mjs,
 * update-user.mjs, password.mjs; verify-password is marked "server" there but
 * routed all the same). Better Auth's own limiter is off (auth/index.ts), so
 * each attempt at one of them counts against the sign-in budgets. The others
 * that touch passwords are not routed (set-password) or need a token from a
 * mail we never send (reset-password).
 */
const PASSWORD_CHECKS = new Set([SIGN_IN, '/api/auth/change-password', '/api/auth/verify-password', '/api/auth/delete-user']);

/**
 * Hands /api/auth/* to Better Auth, after four things it does not do our way:
 * the client address it sees is the one the platform determined (a client's
 * own header of that name is replaced), ids it would look up must be UUIDs,
 * sign-ups and password attempts pass the platform's rate limits, and its
 * errors leave as problem+json.
 */
export async function handleBetterAuth(c: Context<AppEnv>) {
  const { auth } = c.get('platform');
  const address = requestAddress(c);
  const headers = withClientAddress(c.req.raw.headers, address);

  let body: ArrayBuffer | undefined;
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') body = await c.req.arrayBuffer();
  const fields = bodyFields(c.req.header('content-type'), body);
  const query = new URL(c.req.url).searchParams;
  const errors = [...malformedIds(query, fields), ...(c.req.path === LIST_MEMBERS ? malformedMemberListing(query) : [])];
  if (errors.length) throw new ApiError('invalid_request', 'Some fields are not valid.', { errors });
  if (c.req.method === 'POST') await limitAttempts(c, headers, address, fields);

  // Errors that are not Better Auth's own (a database error, say) are thrown
  // out of the handler (onAPIError.throw in auth/index.ts) and answered by our
  // onError like any other route's.
  const response = await auth.handler(new Request(c.req.url, { method: c.req.method, headers, body }));
  if (response.status < 400) return response;
  return asProblem(c, response);
}

/**
 * A sign-up counts per address; a password attempt per address and per
 * account: the email given to sign in, otherwise the session's user, so a
 * stolen cookie cannot guess the password through change-password either.
 */
async function limitAttempts(c: Context<AppEnv>, headers: Headers, address: string | undefined, fields: Record<string, unknown> | undefined) {
  const { auth, signInLimiter } = c.get('platform');
  if (c.req.path === SIGN_UP) return signInLimiter.attempt({ address, kind: 'sign-up' });
  if (!PASSWORD_CHECKS.has(c.req.path)) return;
  if (c.req.path === SIGN_IN) return signInLimiter.attempt({ address, email: typeof fields?.email === 'string' ? fields.email : undefined });
  // Without a session Better Auth answers 401 and the address alone counts.
  const session = await auth.api.getSession({ headers, query: { disableCookieCache: true } });
  return signInLimiter.attempt({ address, email: session?.user.email, kind: 'password' });
}

/**
 * The body's fields as Better Auth will read them (better-call's getBody):
 * JSON for a JSON content type, a form for a urlencoded one (the last of a
 * repeated name wins, as there). Sign-in and sign-up take both; every other
 * endpoint refuses a form with 415.
 */
function bodyFields(contentType: string | undefined, body: ArrayBuffer | undefined): Record<string, unknown> | undefined {
  if (!body?.byteLength || !contentType) return undefined;
  const type = contentType.toLowerCase();
  const text = new TextDecoder().decode(body);
  if (/^application\/([a-z0-9.+-]*\+)?json/.test(type)) {
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      // Better Auth answers malformed JSON itself.
      return undefined;
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  return undefined;
}

/**
 * Request fields (query or body) that Better Auth looks rows up by. Every
 * one of those rows has a uuid id (generateId 'uuid' in auth/index.ts, uuid
 * columns in db/schema/auth.ts) and Better Auth does not check the shape, so a
 * malformed id would reach Postgres and fail there.
 */
const ID_FIELDS = ['id', 'organizationId', 'invitationId', 'memberId', 'userId', 'memberIdOrEmail'];

function malformedIds(query: URLSearchParams, fields: Record<string, unknown> | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const check = (path: string, name: string, value: unknown) => {
    // Other types are Better Auth's to refuse; null means "none" (set-active).
    if (typeof value !== 'string' || isUuid(value)) return;
    // Better Auth tells a member's email from their id by the @.
    if (name === 'memberIdOrEmail' && value.includes('@')) return;
    errors.push({ path: `${path}.${name}`, message: name === 'memberIdOrEmail' ? 'Expected a UUID or an email address.' : 'Expected a UUID.' });
  };
  for (const name of ID_FIELDS) {
    for (const value of query.getAll(name)) check('query', name, value);
    if (fields) check('body', name, fields[name]);
  }
  return errors;
}

/**
 * list-members hands its paging, sort and filter parameters to the database
 * adapter as they come: a field members do not have, an operator the field
 * cannot take, a missing value or a time failed there as a 500.
 */
const MEMBER_FIELDS = ['id', 'organizationId', 'userId', 'role', 'createdAt'];
/**
 * What a filter may name: not createdAt, whose value the adapter hands to the
 * timestamp column as the text it came as (drizzle wants a Date, so every
 * operator failed with a 500). One value compared for (in)equality: the
 * adapter takes other operators as they come ("in" wants a list, "contains"
 * a text column).
 */
const FILTER_FIELDS = ['id', 'organizationId', 'userId', 'role'];
const FILTER_OPERATORS = ['eq', 'ne'];

function malformedMemberListing(query: URLSearchParams): FieldError[] {
  const errors: FieldError[] = [];
  for (const name of ['limit', 'offset']) {
    const value = query.get(name);
    if (value !== null && !/^\d{1,9}$/.test(value)) errors.push({ path: `query.${name}`, message: 'Expected a whole number.' });
  }
  const sortBy = query.get('sortBy');
  if (sortBy !== null && !MEMBER_FIELDS.includes(sortBy)) errors.push({ path: 'query.sortBy', message: `Expected one of ${MEMBER_FIELDS.join(', ')}.` });
  const field = query.get('filterField');
  if (field !== null && !FILTER_FIELDS.includes(field)) errors.push({ path: 'query.filterField', message: `Expected one of ${FILTER_FIELDS.join(', ')}.` });
  const operator = query.get('filterOperator');
  if (operator !== null && !FILTER_OPERATORS.includes(operator)) errors.push({ path: 'query.filterOperator', message: `Expected one of ${FILTER_OPERATORS.join(', ')}.` });
  const values = query.getAll('filterValue');
  if (field !== null && values.length !== 1) errors.push({ path: 'query.filterValue', message: 'Expected exactly one value to filter by.' });
  return errors;
}

async function asProblem(c: Context<AppEnv>, response: Response) {
  let parsed: { message?: string; code?: string } = {};
  try {
    parsed = (await response.json()) as typeof parsed;
  } catch {
    // Not JSON: the status alone says enough.
  }
  const problem = HTTP_STATUS_CODES[response.status] ?? (response.status >= 500 ? 'internal' : 'invalid_request');
  if (response.status >= 500) {
    // Better Auth no longer logs these itself (it throws instead of logging).
    c.get('platform').logger.error({ reqId: c.get('requestId'), status: response.status, message: parsed.message, code: parsed.code }, 'Better Auth error');
  }
  // Better Auth's machine-readable code travels along for clients that branch on it.
  const reply = problemResponse(c, new ApiError(problem, parsed.message, { extensions: parsed.code ? { code: parsed.code } : {} }));
  for (const cookie of response.headers.getSetCookie()) reply.headers.append('set-cookie', cookie);
  return reply;
}
