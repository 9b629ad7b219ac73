/**
 * A whole-number setting read from the environment: unset or empty gives the
 * default (undefined for a setting that is optional); anything else must be plain digits from `min` to `max`, or this
 * throws one line naming the variable. Number() alone would turn a typo such
 * as "36k" into NaN, and NaN fails every comparison: a rate limit or a
 * checkpoint cadence would quietly stop applying, a port would fail deep in
 * Node.
 */
export function wholeNumberSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, range?: { min?: number; max?: number }): number;
export function wholeNumberSetting(env: NodeJS.ProcessEnv, name: string, fallback: undefined, range?: { min?: number; max?: number }): number | undefined;
export function wholeNumberSetting(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, range: { min?: number; max?: number } = {}): number | undefined {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return fallback;
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    const allowed = range.max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new Error(`${name} must be a whole number ${allowed}, not "${value}"`);
  }
  return n;
}

/** A TCP port setting; 0 (any free port) only where `allowAny` says so. */
export function portSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, allowAny = false): number {
  return wholeNumberSetting(env, name, fallback, { min: allowAny ? 0 : 1, max: 65535 });
}
