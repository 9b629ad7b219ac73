import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { freePort } from './ports.ts';
import { spawnEntry } from './processes.ts';

// The real entry point, as `npm start` runs it, against an external database
// given by URL: the configuration a production deployment uses.
let db: TestDatabase;
let dir: string;
let caFile: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-proc-'));
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, db.ca);
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

function startServer(env: Record<string, string>) {
  const started = spawnEntry('server.ts', { PGSSLROOTCERT: caFile, AUTH_DATABASE_URL: db.authUrl, ...env });
  const { child, output } = started;
  return {
    ...started,
    async serving() {
      for (let i = 0; i < 200 && !output().stdout.includes('Kommit is serving'); i++) {
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return output().stdout.includes('Kommit is serving');
    },
  };
}

describe('server.ts', () => {
  it('serves with DATABASE_URL and ADMIN_DATABASE_URL, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server = startServer({ DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PORT: String(port) });
    expect(await server.serving(), server.output().stderr).toBe(true);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await health.json()).toEqual({ status: 'ok', functions: ['identity', 'organizations', 'projects', 'api-keys', 'decision-events', 'support-transcripts', 'workflows', 'search', 'webhooks', 'hooks', 'helpdesk', 'widget', 'widget-api', 'audit', 'console'] });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start, with one line naming the problem, when connected as the owner role', async () => {
    const server = startServer({ DATABASE_URL: db.adminUrl, PORT: String(await freePort()) });
    expect(await server.exited).toBe(1);
    const { stderr, stdout } = server.output();
    expect(stdout).not.toContain('Kommit is serving');
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^kommit: refusing to start: connected as role "beheerder", expected "kommit_app"/),
    ]);
  });

  it('refuses to start when the server certificate cannot be verified', async () => {
    const wrongCa = path.join(dir, 'wrong-ca.pem');
    const { createDevCertificates } = await import('../db/tls.ts');
    await writeFile(wrongCa, (await createDevCertificates()).caCert);
    const server = startServer({ DATABASE_URL: db.appUrl, PGSSLROOTCERT: wrongCa, PORT: String(await freePort()) });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toMatch(/^kommit: failed to start: .*certificate/);
  });

  it('refuses to start when the auth connection is not the auth role', async () => {
    const server = startServer({ DATABASE_URL: db.appUrl, AUTH_DATABASE_URL: db.adminUrl, PORT: String(await freePort()) });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toMatch(/^kommit: refusing to start: connected as role "beheerder", expected "kommit_auth"/);
  });

  it('refuses unknown function names and lists the valid ones', async () => {
    const server = startServer({ DATABASE_URL: db.appUrl, FUNCTIONS: 'projects,nope' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toBe('kommit: failed to start: unknown function(s) nope; valid: identity, organizations, projects, api-keys, decision-events, support-transcripts, workflows, search, webhooks, hooks, helpdesk, widget, widget-api, audit, console\n');
  });
});
