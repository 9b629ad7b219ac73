import { wholeNumberSetting } from '../settings.ts';

/** Most jobs one worker runs at once; each holds a database connection. */
export const MAX_WORKER_CONCURRENCY = 64;

/**
 * How many jobs run at once: WORKER_CONCURRENCY, a whole number from 1 to
 * MAX_WORKER_CONCURRENCY (default 4). Anything else throws a one-line error
 * naming the setting, so a typo stops the start instead of the worker.
 */
export function workerConcurrencyFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return wholeNumberSetting(env, 'WORKER_CONCURRENCY', 4, { min: 1, max: MAX_WORKER_CONCURRENCY });
}
