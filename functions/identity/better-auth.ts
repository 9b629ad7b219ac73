import type { Context } from 'hono';
import { CLIENT_ADDRESS_HEADER, requestAddress } from '../../middleware/addresses.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError, HTTP_STATUS_CODES, problemResponse } from '../../middleware/errors.ts';

const SIGN_IN = '/api/auth/sign-in/email';
const SIGN_UP = '/api/auth/sign-up/email';

/**
 * Hands /api/auth/* to Better Auth, after three things it does not do our way:
 * the client address it sees is the one the platform determined (a client's
 * own header of that name is replaced), sign-in and sign-up attempts pass the
 * platform's rate limits, and its errors leave as problem+json.
 */
export async function handleBetterAuth(c: Context<AppEnv>) {
  const { auth, signInLimiter } = c.get('platform');
  const address = requestAddress(c);
  const headers = new Headers(c.req.raw.headers);
  headers.delete(CLIENT_ADDRESS_HEADER);
  if (address) headers.set(CLIENT_ADDRESS_HEADER, address);

  let body: ArrayBuffer | undefined;
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') body = await c.req.arrayBuffer();
  if (c.req.method === 'POST' && (c.req.path === SIGN_IN || c.req.path === SIGN_UP)) {
    await signInLimiter.attempt({ address, email: c.req.path === SIGN_IN ? emailIn(body) : undefined });
  }

  const response = await auth.handler(new Request(c.req.url, { method: c.req.method, headers, body }));
  if (response.status < 400) return response;
  return asProblem(c, response);
}

function emailIn(body: ArrayBuffer | undefined) {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { email?: unknown };
    return typeof parsed.email === 'string' ? parsed.email : undefined;
  } catch {
    return undefined;
  }
}

async function asProblem(c: Context<AppEnv>, response: Response) {
  let parsed: { message?: string; code?: string } = {};
  try {
    parsed = (await response.json()) as typeof parsed;
  } catch {
    // Not JSON: the status alone says enough.
  }
  const problem = HTTP_STATUS_CODES[response.status] ?? (response.status >= 500 ? 'internal' : 'invalid_request');
  // Better Auth's machine-readable code travels along for clients that branch on it.
  const reply = problemResponse(c, new ApiError(problem, parsed.message, { extensions: parsed.code ? { code: parsed.code } : {} }));
  for (const cookie of response.headers.getSetCookie()) reply.headers.append('set-cookie', cookie);
  return reply;
}
