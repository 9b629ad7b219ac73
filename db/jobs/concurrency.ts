/** Most jobs one worker runs at once; each holds a database connection. */
export const MAX_WORKER_CONCURRENCY = 64;

/**
 * How many jobs run at once: WORKER_CONCURRENCY, a whole number from 1 to
 * MAX_WORKER_CONCURRENCY (default 4). Anything else throws a one-line error
 * naming the setting, so a typo stops the start instead of the worker.
 */
export function workerConcurrencyFromEnv(value: string | undefined) {
  if (value === undefined || value === '') return 4;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKER_CONCURRENCY) {
    throw new Error(`WORKER_CONCURRENCY must be a whole number from 1 to ${MAX_WORKER_CONCURRENCY}, not "${value}"`);
  }
  return n;
}
