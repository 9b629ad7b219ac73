import type { Context, MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { addressBucket, requestAddress } from './addresses.ts';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

/** Requests per minute allowed per client address, API key and signed-in user; 0 turns a limit off. */
export interface RequestLimits {
  perAddressPerMinute: number;
  perKeyPerMinute: number;
  perUserPerMinute: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { perAddressPerMinute: 36_000, perKeyPerMinute: 36_000, perUserPerMinute: 12_000 };
export const NO_REQUEST_LIMITS: RequestLimits = { perAddressPerMinute: 0, perKeyPerMinute: 0, perUserPerMinute: 0 };

export function createRequestLimiters(limits: RequestLimits) {
  const limiter = (keyPrefix: string, points: number) => (points > 0 ? new RateLimiterMemory({ keyPrefix, points, duration: 60 }) : undefined);
  return {
    address: limiter('requests-address', limits.perAddressPerMinute),
    key: limiter('requests-key', limits.perKeyPerMinute),
    user: limiter('requests-user', limits.perUserPerMinute),
  };
}

export type RequestLimiters = ReturnType<typeof createRequestLimiters>;

/** Counts one request against a budget; a spent budget answers 429 with Retry-After. */
export async function takeRequest(limiter: RateLimiterMemory | undefined, key: string, who: string) {
  if (!limiter) return;
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    throw rateLimited(rejection, who);
  }
}

/**
 * Answers 429 while a budget is spent, without counting this request: for
 * budgets charged only once the outcome is known (see functions/hooks/receive.ts).
 */
export async function refuseWhileSpent(limiter: RateLimiterMemory, key: string, who: string) {
  const spent = await limiter.get(key);
  if (spent && spent.consumedPoints >= limiter.points && spent.msBeforeNext > 0) throw rateLimited(spent, who);
}

function rateLimited(res: RateLimiterRes, who: string) {
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new ApiError('rate_limited', `Too many requests ${who}; try again in ${retryAfter} s.`, { headers: { 'retry-after': String(retryAfter) } });
}

/** The per-address budget, for every request but the health check and the metrics scrape. */
export function limitByAddress(exempt: string[]): MiddlewareHandler<AppEnv> {
  return async function limitByAddress(c: Context<AppEnv>, next) {
    if (!exempt.includes(c.req.path)) {
      await takeRequest(c.get('platform').requestLimiters.address, addressBucket(requestAddress(c)), 'from this address');
    }
    await next();
  };
}
