import { createServer as createNetServer } from 'node:net';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request as httpRequest } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChain } from '../db/audit/read.ts';
import { createApiKey, createOrganization } from '../db/operators.ts';
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
    expect(await health.json()).toEqual({ status: 'ok', functions: ['identity', 'organizations', 'projects', 'api-keys', 'decision-events', 'support-transcripts', 'workflows', 'search', 'webhooks', 'hooks', 'helpdesk', 'widget', 'widget-api', 'audit', 'controls', 'console'] });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('finishes a request in flight when SIGTERM arrives (rolling updates), then exits 0', async () => {
    const port = await freePort();
    const server = startServer({ DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PORT: String(port) });
    expect(await server.serving(), server.output().stderr).toBe(true);
    // A request whose body is still arriving when the signal comes (the webhook
    // ingress reads the whole body before it answers).
    const sentAt = Date.now();
    const answered = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`http://127.0.0.1:${port}/hooks/${crypto.randomUUID()}`, {
        method: 'POST',
        headers: { 'webhook-id': 'drain', 'webhook-timestamp': String(Math.floor(sentAt / 1000)), 'webhook-signature': 'v1,x', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write('{"name":');
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end('"drained"}'), 500);
      }, 200);
    });
    // Answered once the body was in (no such endpoint: 404), not cut off.
    expect(await answered).toBe(404);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(650);
    expect(await server.exited).toBe(0);
    expect(server.output().stdout).toContain('SIGTERM: draining requests and stopping');
  });

  it('killed with SIGKILL during writes, leaves no write without its audit row and a chain that verifies', { timeout: 60_000 }, async () => {
    const orgId = await createOrganization(db.admin, { name: 'Killed server' });
    const { key } = await createApiKey(db.admin, orgId, 'writer');
    const port = await freePort();
    const server = startServer({ DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PORT: String(port) });
    expect(await server.serving(), server.output().stderr).toBe(true);
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; writing; i++) {
          await fetch(`http://127.0.0.1:${port}/v1/projects`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `w${w}-${i}` }),
          }).then((r) => r.arrayBuffer(), () => (writing = false));
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    server.child.kill('SIGKILL');
    await server.exited;
    writing = false;
    await writers;
    const [counts] = await db.admin.withTenant(orgId, (tx) =>
      tx.execute<{ projects: number; audited: number }>(sql`
        select (select count(*)::int from projects) as projects,
               (select count(*)::int from audit_log where action = 'project.create') as audited`),
    );
    expect(counts!.projects).toBeGreaterThan(0);
    expect(counts!.audited).toBe(counts!.projects);
    expect(await db.app.withTenant(orgId, (tx) => readChain(tx, orgId))).toMatchObject({ ok: true });
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

  it('refuses to start, in one line and before touching anything, when its port is taken (a second npm start)', async () => {
    const port = await freePort();
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(port, '0.0.0.0', resolve));
    try {
      const server = startServer({ DATABASE_URL: db.appUrl, PORT: String(port) });
      expect(await server.exited).toBe(1);
      expect(server.output().stderr.trim().split('\n')).toEqual([`kommit: failed to start: port ${port} is in use (is another npm start running?); set PORT to use another`]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("refuses to start, in one line, when the admin console's port is taken on the address it would listen on (ADMIN_HOST)", async () => {
    const adminPort = await freePort();
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(adminPort, '127.0.0.2', resolve));
    try {
      const data = path.join(dir, 'embedded-admin-port');
      const server = startServer({ KOMMIT_DATA_DIR: data, KOMMIT_EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.2' });
      const code = await Promise.race([server.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 10_000))]);
      if (code === 'running') {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      expect(code).toBe(1);
      expect(server.output().stderr.trim().split('\n')).toEqual([`kommit: failed to start: port ${adminPort} is in use (is another npm start running?); set ADMIN_PORT to use another`]);
      expect(existsSync(path.join(data, 'postgres'))).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it.each([
    ['WORKER_CONCURRENCY', 'abc', 'WORKER_CONCURRENCY must be a whole number from 1 to 64, not "abc"'],
    ['PORT', 'abc', 'PORT must be a whole number from 0 to 65535, not "abc"'],
    // Number("36k") is NaN, and a NaN limit used to switch the per-address limit off without a word.
    ['RATE_LIMIT_PER_ADDRESS', '36k', 'RATE_LIMIT_PER_ADDRESS must be a whole number of at least 0, not "36k"'],
    ['EMBEDDINGS_DIMENSIONS', '256d', 'EMBEDDINGS_DIMENSIONS must be a whole number of at least 1, not "256d"'],
  ])('refuses a malformed %s in one line before starting anything, on the embedded default', async (name, value, message) => {
    const data = path.join(dir, `embedded-data-${name}`);
    const env = { KOMMIT_DATA_DIR: data, KOMMIT_EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), ADMIN_PORT: String(await freePort()), EMBEDDINGS_URL: 'http://127.0.0.1:9/v1', EMBEDDINGS_MODEL: 'm' };
    const server = startServer({ ...env, [name]: value });
    // Before, it went on to start the embedded database (and for the worker's setting, to serve, the worker failing and restarting behind it).
    const code = await Promise.race([server.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 10_000))]);
    if (code === 'running') {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    expect(code).toBe(1);
    expect(server.output().stderr.trim().split('\n')).toEqual([`kommit: failed to start: ${message}`]);
    expect(existsSync(path.join(data, 'postgres'))).toBe(false);
  });

  it('refuses ADMIN_PORT equal to PORT in one line before starting anything (the console would fail to listen over and over)', async () => {
    const data = path.join(dir, 'embedded-data-same-port');
    const port = String(await freePort());
    const server = startServer({ KOMMIT_DATA_DIR: data, KOMMIT_EMBEDDED_PG_PORT: String(await freePort()), PORT: port, ADMIN_PORT: port });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr.trim().split('\n')).toEqual([`kommit: failed to start: PORT and ADMIN_PORT are both ${port}: the admin console needs a port of its own`]);
    expect(existsSync(path.join(data, 'postgres'))).toBe(false);
  });

  it('stops the embedded Postgres it started when a setting read after it is refused (a malformed AUDIT_SIGNING_KEY), naming the setting', async () => {
    const data = path.join(dir, 'embedded-data-bad-key');
    // initdb runs as an unprivileged user when the tests run as root: it must reach the data directory.
    await chmod(dir, 0o755);
    // The embedded default as npm start runs it: no database settings (and the embedded database's own CA).
    const server = spawnEntry('server.ts', { KOMMIT_DATA_DIR: data, KOMMIT_EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), ADMIN_PORT: String(await freePort()), AUDIT_SIGNING_KEY: 'garbage' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr.trim().split('\n').at(-1)).toBe('kommit: failed to start: AUDIT_SIGNING_KEY is not a private key in PEM (an Ed25519 key, PKCS#8: -----BEGIN PRIVATE KEY-----)');
    // The database had started (and was left running, orphaned, before): a clean stop removes its pid file.
    expect(existsSync(path.join(data, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(data, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 60_000);

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
    expect(server.output().stderr).toBe('kommit: failed to start: unknown function(s) nope; valid: identity, organizations, projects, api-keys, decision-events, support-transcripts, workflows, search, webhooks, hooks, helpdesk, widget, widget-api, audit, controls, console\n');
  });

  it('refuses to mount the admin console in a public process', async () => {
    const server = startServer({ DATABASE_URL: db.appUrl, FUNCTIONS: 'projects,admin' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toBe(
      'kommit: failed to start: the admin function is never mounted in a public process: it runs as its own service on the admin role (npm run admin)\n',
    );
  });
});

describe('admin.ts', () => {
  it('serves the admin console on the admin role, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const admin = spawnEntry('admin.ts', { PGSSLROOTCERT: caFile, ADMIN_DATABASE_URL: db.adminUrl, ADMIN_PORT: String(port), ADMIN_HOST: '127.0.0.1' });
    for (let i = 0; i < 200 && !admin.output().stdout.includes('admin console on'); i++) {
      if (admin.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(admin.output().stdout, admin.output().stderr).toContain(`admin console on http://localhost:${port}/admin`);
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).json()).toEqual({ status: 'ok', functions: ['admin'] });
    const page = await fetch(`http://127.0.0.1:${port}/admin`, { redirect: 'manual' });
    expect(page.headers.get('location')).toBe('/admin/sign-in');
    admin.child.kill('SIGTERM');
    expect(await admin.exited).toBe(0);
  });

  it('says in one line that its port is taken, and exits, rather than throw an unhandled error event', async () => {
    const taken = createNetServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const admin = spawnEntry('admin.ts', { PGSSLROOTCERT: caFile, ADMIN_DATABASE_URL: db.adminUrl, ADMIN_PORT: String(port), ADMIN_HOST: '127.0.0.1' });
      expect(await admin.exited).toBe(1);
      expect(admin.output().stderr).toBe(`kommit-admin: failed to start: port ${port} is in use; set ADMIN_PORT to use another\n`);
    } finally {
      taken.close();
    }
  });

  it('refuses to start, in one line, on the request role', async () => {
    const admin = spawnEntry('admin.ts', { PGSSLROOTCERT: caFile, ADMIN_DATABASE_URL: db.appUrl, ADMIN_PORT: String(await freePort()) });
    expect(await admin.exited).toBe(1);
    expect(admin.output().stderr).toMatch(/^kommit-admin: refusing to start: the admin console connected as role "kommit_app", expected "beheerder"\n$/);
  });
});

