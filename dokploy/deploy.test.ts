import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { secureDatabase } from '../db/bootstrap.ts';
import { connect } from '../db/connection.ts';
import { startFakeDokploy } from '../test/fake-dokploy.ts';
import { main } from './deploy.ts';
import { requiredShared } from './describe.ts';
import { services } from './functions.ts';
import { redactCredentials } from './redact.ts';
import { render } from './render.ts';

// The deploy CLI's own code (main) against a local fake of Dokploy's API
// that checks every request against the shapes Dokploy's source declares,
// and a real, empty database that the release step must migrate first.

const pg = inject('postgres');
let dir: string;
let caFile: string;
let fresh: { adminUrl: string; appUrl: string };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-deploy-'));
  caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, pg.ca);
  // An empty database (not a clone of the migrated template): the deploy has to migrate it.
  const name = `d_${randomBytes(6).toString('hex')}`;
  const su = connect(pg.superuserUrl, { max: 1, ca: pg.ca });
  await su.unsafe(`create database "${name}"`);
  await su.end();
  await secureDatabase(pg.superuserUrl, name, 'beheerder', pg.ca);
  const login = (user: string, password: string) => `postgres://${user}:${password}@localhost:${pg.port}/${name}?sslrootcert=${encodeURIComponent(caFile)}`;
  fresh = { adminUrl: login('beheerder', pg.passwords.admin), appUrl: login('kommit_app', pg.passwords.app) };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fakes: Awaited<ReturnType<typeof startFakeDokploy>>[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fakeDokploy(options: Parameters<typeof startFakeDokploy>[0] = {}) {
  const fake = await startFakeDokploy(options);
  fakes.push(fake);
  return fake;
}

/** What an operator fills in once in Dokploy's environment (values are placeholders: nothing runs them here). */
function defineSharedVariables(fake: Awaited<ReturnType<typeof startFakeDokploy>>, names = [...new Set(services.flatMap(requiredShared))]) {
  for (const environment of fake.state.environments) environment.env = names.map((n) => `${n}=value-of-${n}`).join('\n');
}

async function run(argv: string[], env: Record<string, string | undefined>) {
  const lines: string[] = [];
  const code = await main(argv, { DOKPLOY_POLL_MS: '20', KOMMIT_PUBLIC_HOST: 'api.kommit.test', KOMMIT_GIT_URL: 'ssh://git@git.kommit.test/kommit.git', ...env }, (line) => lines.push(line));
  return { code, output: lines.join('\n') };
}

/** A deploy that finds the project without its variables creates it and stops; the operator then fills them in. */
async function preparedFake(options: Parameters<typeof startFakeDokploy>[0] = {}) {
  const fake = await fakeDokploy(options);
  const first = await run(['projects', '--skip-migrations'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey });
  expect(first.code).toBe(1);
  expect(first.output).toContain('project "kommit": created');
  expect(first.output).toMatch(/does not define DATABASE_URL, AUTH_DATABASE_URL, BETTER_AUTH_SECRET/);
  // Nothing but the project (and its production environment) was created.
  expect(fake.mutations().map((c) => c.procedure)).toEqual(['project.create']);
  defineSharedVariables(fake);
  fake.calls.length = 0;
  return fake;
}

describe('npm run deploy', () => {
  it('deploys everything: migrations first, then the worker, then every function, each followed to its end', async () => {
    const fake = await preparedFake();
    const { code, output } = await run(['--all'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey, ADMIN_DATABASE_URL: fresh.adminUrl });
    expect(fake.violations).toEqual([]);
    expect(output).not.toContain(fake.apiKey);
    expect(code, output).toBe(0);

    // The release step ran before any deploy was asked for, and migrated the empty database.
    const lines = output.split('\n');
    expect(lines.indexOf('migrations: up to date')).toBeGreaterThan(-1);
    expect(lines.indexOf('migrations: up to date')).toBeLessThan(lines.findIndex((l) => l.includes('deploy queued')));
    const admin = connect(fresh.adminUrl, { max: 1 });
    try {
      const [row] = await admin<{ n: number }[]>`select count(*)::int as n from pg_tables where schemaname = 'public' and tablename in ('projects', 'audit_log', 'webhook_deliveries')`;
      expect(row!.n).toBe(3);
    } finally {
      await admin.end();
    }

    // One application per service, the worker deployed first.
    const deploys = fake.mutations().filter((c) => c.procedure === 'application.deploy');
    const nameOf = (applicationId: unknown) => fake.state.applications.find((a) => a.applicationId === applicationId)!.name;
    expect(deploys.map((c) => nameOf(c.input.applicationId))).toEqual(['kommit-worker', ...services.filter((s) => s.kind !== 'worker').map((s) => `kommit-${s.name}`)]);
    for (const service of services) expect(output).toContain(`[${service.name}] done (`);
    expect(output).toMatch(/\[projects\] {3}│ ✅ Docker build completed\./);

    // What Dokploy now holds for one function: Dockerfile build from git with its watch paths, its env by reference, Swarm settings.
    const projects = fake.state.applications.find((a) => a.name === 'kommit-projects')!.settings;
    expect(projects).toMatchObject({
      buildType: 'dockerfile',
      dockerfile: 'dokploy/Dockerfile',
      customGitUrl: 'ssh://git@git.kommit.test/kommit.git',
      watchPaths: expect.arrayContaining(['functions/projects/**', 'middleware/**', 'db/**', 'auth/**']),
      createEnvFile: false,
      replicas: 2,
      healthCheckSwarm: { Test: ['CMD', 'node', 'dokploy/healthcheck.mjs'], Interval: 10e9, Timeout: 3e9, StartPeriod: 20e9, Retries: 3 },
      updateConfigSwarm: expect.objectContaining({ Order: 'start-first', FailureAction: 'rollback' }),
      placementSwarm: expect.objectContaining({ Constraints: ['node.labels.kommit.region==eu'] }),
    });
    expect(projects.env).toContain('DATABASE_URL=${{environment.DATABASE_URL}}');
    expect(projects.env).toContain('FUNCTIONS=projects');
    expect(projects.env).not.toContain('value-of-');
    expect(fake.state.applications.find((a) => a.name === 'kommit-worker')!.settings).toMatchObject({ command: 'node --enable-source-maps dist/worker.mjs' });

    // Only the worker and the admin console are given beheerder's URL; the console is on a host of its own.
    for (const application of fake.state.applications) {
      expect(String(application.settings.env).includes('ADMIN_DATABASE_URL'), application.name).toBe(['kommit-worker', 'kommit-admin'].includes(application.name));
    }
    const adminApp = fake.state.applications.find((a) => a.name === 'kommit-admin')!;
    expect(adminApp.settings).toMatchObject({ command: 'node --enable-source-maps dist/admin.mjs' });
    expect(fake.state.domains.filter((d) => d.applicationId === adminApp.applicationId)).toEqual([
      expect.objectContaining({ host: 'admin.api.kommit.test', path: '/admin', https: true }),
    ]);

    // Routing: one HTTPS path-prefix domain per route, and the workflows pattern router in Traefik's file.
    const projectsApp = fake.state.applications.find((a) => a.name === 'kommit-projects')!;
    expect(fake.state.domains.filter((d) => d.applicationId === projectsApp.applicationId)).toEqual([
      expect.objectContaining({ host: 'api.kommit.test', path: '/v1/projects', port: 8787, https: true, certificateType: 'letsencrypt' }),
    ]);
    const workflows = fake.state.applications.find((a) => a.name === 'kommit-workflows')!;
    const routers = parseYaml(workflows.traefik!).http.routers;
    expect(Object.values<{ rule: string }>(routers).map((r) => r.rule)).toContain('Host(`api.kommit.test`) && PathRegexp(`^/v1/projects/[^/]+/workflows(/|$)`)');
  });

  it('updates what exists on the next run: no second application, domain or router', async () => {
    const fake = await preparedFake();
    const env = { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey };
    expect((await run(['workflows', 'projects', '--skip-migrations'], env)).code).toBe(0);
    const before = { applications: fake.state.applications.length, domains: fake.state.domains.length };
    fake.calls.length = 0;
    const again = await run(['workflows', '--skip-migrations'], env);
    expect(again.code, again.output).toBe(0);
    expect(fake.violations).toEqual([]);
    expect({ applications: fake.state.applications.length, domains: fake.state.domains.length }).toEqual(before);
    expect(fake.mutations().map((c) => c.procedure)).toEqual([
      'application.saveBuildType',
      'application.saveGitProvider',
      'application.saveEnvironment',
      'application.update',
      'application.deploy',
    ]);
    expect(again.output).toContain('[workflows] route https://api.kommit.test/v1/workflows: unchanged');
    expect(again.output).toContain('[workflows] pattern routes: unchanged');
  });

  it('creates another environment of the project when asked for one', async () => {
    const fake = await preparedFake();
    const { code, output } = await run(['projects', '--skip-migrations'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey, DOKPLOY_ENVIRONMENT: 'staging' });
    expect(fake.violations).toEqual([]);
    expect(fake.mutations().map((c) => [c.procedure, c.input])).toEqual([['environment.create', { name: 'staging', projectId: fake.state.projects[0]!.projectId, description: 'Kommit staging' }]]);
    // Its variables are its own: a new environment has none yet.
    expect(code).toBe(1);
    expect(output).toContain('environment "staging": created');
    expect(output).toMatch(/the Dokploy environment "staging" does not define DATABASE_URL/);
  });

  it('stops at a failed deployment, says why, and deploys nothing after it', async () => {
    const fake = await preparedFake({ failing: ['hooks'] });
    const { code, output } = await run(['hooks', 'audit', '--skip-migrations'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey });
    expect(fake.violations).toEqual([]);
    expect(code).toBe(1);
    expect(output).toContain('[hooks]   │ ❌ Docker build failed');
    expect(output).toContain('error: hooks: deployment error: Docker build failed; the running version keeps serving');
    expect(fake.state.applications.map((a) => a.name)).not.toContain('kommit-audit');
  });

  it('refuses to migrate with a request-role URL, before anything is deployed', async () => {
    const fake = await preparedFake();
    const { code, output } = await run(['projects'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey, ADMIN_DATABASE_URL: fresh.appUrl });
    expect(code).toBe(1);
    expect(output).toContain('error: migrations failed, nothing was deployed: refusing to migrate: migrations connected as role "kommit_app", expected "beheerder"');
    expect(fake.mutations()).toEqual([]);
  });

  it('prints the calls of a dry run and sends none', async () => {
    const fake = await preparedFake();
    const { code, output } = await run(['workflows', '--dry-run'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey });
    expect(code, output).toBe(0);
    expect(fake.violations).toEqual([]);
    expect(fake.mutations()).toEqual([]);
    expect(output).toContain('migrations: would apply pending migrations as beheerder');
    for (const procedure of ['application.create', 'application.saveBuildType', 'application.saveGitProvider', 'application.saveEnvironment', 'application.update', 'domain.create', 'application.updateTraefikConfig', 'application.deploy']) {
      expect(output).toContain(`would call POST /api/${procedure} {`);
    }
    expect(output).not.toContain(fake.apiKey);
  });

  it('never prints a token in KOMMIT_GIT_URL (dry-run bodies, its own lines, the build log) nor renders it, but sends it to Dokploy', async () => {
    const token = `ghp_${randomBytes(12).toString('hex')}`;
    const gitUrl = `https://x-access-token:${token}@github.com/kommit/kommit.git`;
    const shown = 'https://***@github.com/kommit/kommit.git';
    const fake = await preparedFake();
    const env = { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: fake.apiKey, KOMMIT_GIT_URL: gitUrl };
    const dry = await run(['projects', '--dry-run'], env);
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toContain(`source ${shown} (main)`);
    const saveGit = dry.output.split('\n').find((line) => line.includes('would call POST /api/application.saveGitProvider'));
    expect(saveGit).toContain(`"customGitUrl":"${shown}"`);
    const deployed = await run(['projects', '--skip-migrations'], env);
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.output).toContain(`│ Cloning Repo Custom ${shown} to `);
    for (const output of [dry.output, deployed.output]) expect(output).not.toContain(token);
    // Dokploy needs the token to clone: it gets the URL as given.
    expect(fake.state.applications.find((a) => a.name === 'kommit-projects')!.settings.customGitUrl).toBe(gitUrl);
    const rendered = render({ host: 'api.kommit.test', gitUrl, gitBranch: 'main' }).get('dokploy/out/projects.json')!;
    expect(rendered).toContain(`"customGitUrl": "${shown}"`);
    expect(rendered).not.toContain(token);
  });

  it('redacts the credentials of any URL, keeping only an ssh user name', () => {
    expect(redactCredentials('https://ghp_abc@github.com/o/r.git')).toBe('https://***@github.com/o/r.git');
    expect(redactCredentials('clone https://oauth2:gl-pat@gitlab.example/o/r and https://u:p@ss@h.example/x')).toBe('clone https://***@gitlab.example/o/r and https://***@h.example/x');
    expect(redactCredentials('postgres://beheerder:secret@db:5432/kommit')).toBe('postgres://***@db:5432/kommit');
    expect(redactCredentials('ssh://git:pw@git.example/r')).toBe('ssh://***@git.example/r');
    for (const untouched of ['ssh://git@git.kommit.test/kommit.git', 'git@github.com:o/r.git', 'https://github.com/o/r.git', 'mail ops@kommit.test']) {
      expect(redactCredentials(untouched)).toBe(untouched);
    }
  });

  it('says what is missing instead of guessing', async () => {
    const missing = await run(['projects'], { KOMMIT_PUBLIC_HOST: undefined });
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/^error: set DOKPLOY_URL .*; KOMMIT_PUBLIC_HOST .*; ADMIN_DATABASE_URL/);
    const unknown = await run(['projcts', '--dry-run'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/unknown service "projcts"; valid: identity, .*, worker/);
    const fake = await fakeDokploy();
    const badKey = await run(['projects', '--skip-migrations'], { DOKPLOY_URL: fake.url, DOKPLOY_API_KEY: 'wrong' });
    expect(badKey.code).toBe(1);
    expect(badKey.output).toContain('error: project.all: 401 Unauthorized');
  });

  it('runs as `npm run deploy` does (a dry run without a Dokploy plans a first deploy)', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'dokploy/deploy.ts', '--dry-run', 'hooks'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('would call POST /api/project.create {"name":"kommit"');
    expect(result.stdout).toContain('would call POST /api/domain.create {"host":"api.kommit.example","path":"/hooks"');
  });
});

describe('the fake Dokploy', () => {
  // It is only worth testing against if it refuses what Dokploy would.
  it('refuses unknown procedures, wrong methods and inputs Dokploy would reject', async () => {
    const fake = await fakeDokploy();
    const call = (procedure: string, init: RequestInit = {}) =>
      fetch(`${fake.url}/api/${procedure}`, { ...init, headers: { 'x-api-key': fake.apiKey, 'content-type': 'application/json', ...init.headers } });
    expect((await call('application.nope', { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await call('application.deploy')).status).toBe(405);
    expect((await call('project.create', { method: 'POST', body: JSON.stringify({ name: '' }) })).status).toBe(400);
    expect((await call('project.create', { method: 'POST', body: JSON.stringify({ name: 'x', extra: 1 }) })).status).toBe(400);
    // saveBuildType requires every picked field, as Dokploy's .required() does.
    expect((await call('application.saveBuildType', { method: 'POST', body: JSON.stringify({ applicationId: 'a', buildType: 'dockerfile', dockerfile: 'Dockerfile' }) })).status).toBe(400);
    expect((await call('domain.create', { method: 'POST', body: JSON.stringify({ host: 'api.kommit.test', https: true, customCertResolver: '' }) })).status).toBe(400);
    expect(fake.violations).toHaveLength(6);
  });
});
