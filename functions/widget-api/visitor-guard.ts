import type { Context } from 'hono';
import { RateLimiterRes, type RateLimiterMemory } from 'rate-limiter-flexible';
import type { AppEnv } from '../../middleware/env.ts';
import { ApiError } from '../../middleware/errors.ts';
import { originAllowed } from '../../middleware/origins.ts';

/**
 * One answer for an unknown widget key, a disabled widget and a key some
 * other origin uses: a page learns nothing about keys it was not given.
 */
export const unknownWidget = () => new ApiError('not_found', 'No enabled widget with this key.');
/** One answer for a forged, altered, expired or mismatched visitor token. */
export const badToken = () => new ApiError('unauthorized', 'The visitor token is not valid; start a new conversation.', { headers: { 'www-authenticate': 'Bearer realm="widget"' } });

/**
 * Lets the calling page read the answer. Only called once the origin is known
 * to be allowed, or for answers that say nothing about any organization
 * (a bad token, a rate limit), so the widget can recover from them.
 */
export function allowOrigin(c: Context<AppEnv>) {
  const origin = c.req.header('origin');
  if (!origin) return;
  c.header('access-control-allow-origin', origin);
  c.header('access-control-expose-headers', 'retry-after');
  c.header('vary', 'Origin');
}

/** Refuses a page whose origin the widget's configuration does not list. */
export function assertOrigin(c: Context<AppEnv>, allowed: string[]) {
  if (!originAllowed(c.req.header('origin'), allowed)) {
    throw new ApiError('forbidden', 'This widget is not allowed on this site (its origin is not in the widget\'s allowed origins).');
  }
  allowOrigin(c);
}

export async function take(c: Context<AppEnv>, limiter: RateLimiterMemory, key: string, what: string) {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    allowOrigin(c);
    throw new ApiError('rate_limited', `Too many ${what}; try again in ${retryAfter} s.`, { headers: { 'retry-after': String(retryAfter) } });
  }
}

/** Parses a JSON body against a schema; invalid input is a 400 with field paths, like every other route. */
export async function jsonInput<T>(c: Context<AppEnv>, parse: (value: unknown) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }) {
  let value: unknown;
  try {
    value = await c.req.json();
  } catch {
    throw new ApiError('invalid_request', 'The body must be JSON.');
  }
  const result = parse(value);
  if (!result.success) {
    throw new ApiError('invalid_request', 'Some fields are not valid.', {
      errors: result.error.issues.map((i) => ({ path: `json.${i.path.map(String).join('.') || '(root)'}`, message: i.message })),
    });
  }
  return result.data;
}
