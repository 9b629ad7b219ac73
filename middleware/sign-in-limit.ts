import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { SignInLimits } from './config.ts';
import { addressBucket } from './addresses.ts';
import { ApiError } from './errors.ts';

/**
 * Limits password attempts (signing in, and every Better Auth endpoint that
 * checks the password: functions/identity/better-auth.ts) per account and per
 * client address, so neither one password nor many accounts can be guessed at
 * speed. Sign-ups count per address. Counted in process memory: a deployment
 * with several replicas multiplies the allowance by their number, which still
 * bounds guessing.
 */
export function createSignInLimiter(limits: SignInLimits) {
  const perAccount = new RateLimiterMemory({ keyPrefix: 'sign-in-account', points: limits.perAccount, duration: limits.windowSeconds });
  const perAddress = new RateLimiterMemory({ keyPrefix: 'sign-in-address', points: limits.perAddress, duration: limits.windowSeconds });

  async function consume(limiter: RateLimiterMemory, key: string, what: string, counted: string) {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ApiError('rate_limited', `Too many ${counted} ${what}; try again in ${retryAfter} s.`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
  }

  return {
    /**
     * Counts one attempt; throws a 429 ApiError once either budget is spent.
     * kind only words the refusal (default: a sign-in).
     */
    async attempt(input: { address: string | undefined; email?: string; kind?: 'sign-in' | 'password' | 'sign-up' }) {
      const counted = { 'sign-in': 'sign-in attempts', password: 'password attempts', 'sign-up': 'sign-ups' }[input.kind ?? 'sign-in'];
      // An IPv6 host usually holds a whole /64: counted per address, it could rotate past any budget.
      await consume(perAddress, addressBucket(input.address), 'from this address', counted);
      if (input.email) await consume(perAccount, input.email.trim().toLowerCase(), 'for this account', counted);
    },
  };
}

export type SignInLimiter = ReturnType<typeof createSignInLimiter>;
