import type { Logger } from 'pino';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVELS;

/**
 * pino's JSON line shape on console.log, for workerd: pino itself reaches for
 * Node streams and worker threads. Only the calls the request path makes
 * (a level method with an object and/or a message, child) are implemented.
 */
export function edgeLogger(level: string = 'info', bindings: Record<string, unknown> = { service: 'kommit-edge' }): Logger {
  const threshold = LEVELS[level as Level] ?? (level === 'silent' ? Infinity : LEVELS.info);
  const write = (name: Level) => (first: unknown, message?: string) => {
    if (LEVELS[name] < threshold) return;
    const fields = typeof first === 'object' && first !== null ? serialise(first as Record<string, unknown>) : {};
    const msg = typeof first === 'string' ? first : message;
    console.log(JSON.stringify({ level: LEVELS[name], time: Date.now(), ...bindings, ...fields, ...(msg ? { msg } : {}) }));
  };
  const logger = {
    level,
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
    child: (more: Record<string, unknown>) => edgeLogger(level, { ...bindings, ...more }),
  };
  return logger as unknown as Logger;
}

function serialise(fields: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}
