import type * as Package from 'rate-limiter-flexible';
// @ts-expect-error: the package publishes types for its index only
import memory from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
// @ts-expect-error: the package publishes types for its index only
import res from 'rate-limiter-flexible/lib/RateLimiterRes.js';

/**
 * rate-limiter-flexible for workerd (the edge build puts this module in place
 * of the package). Its index loads every limiter it has, and the cluster one
 * requires node:cluster; the platform uses only the in-memory limiter.
 */
export const RateLimiterMemory = memory as typeof Package.RateLimiterMemory;
export const RateLimiterRes = res as typeof Package.RateLimiterRes;
