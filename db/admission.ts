/** The database had no connection free for this request within the wait allowed. */
export class DatabaseBusyError extends Error {
  constructor(waitedMs: number) {
    super(`no database connection became free within ${waitedMs} ms`);
  }
}

/**
 * At most `capacity` transactions at once (the pool's size), the rest waiting
 * in line for at most `queueTimeoutMs`: past that a request fails fast with
 * DatabaseBusyError instead of queueing behind a stuck pool forever.
 */
export function createAdmission(capacity: number, queueTimeoutMs: number) {
  let active = 0;
  const line: { admit: () => void; timer: NodeJS.Timeout }[] = [];
  const release = () => {
    const next = line.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit(); // the slot passes straight to the next in line
    } else {
      active--;
    }
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < capacity) {
        active++;
      } else {
        await new Promise<void>((admit, refuse) => {
          const entry = {
            admit,
            timer: setTimeout(() => {
              line.splice(line.indexOf(entry), 1);
              refuse(new DatabaseBusyError(queueTimeoutMs));
            }, queueTimeoutMs),
          };
          line.push(entry);
        });
      }
      try {
        return await fn();
      } finally {
        release();
      }
    },
    /** Transactions running and waiting, for metrics. */
    stats: () => ({ active, waiting: line.length, capacity }),
  };
}
