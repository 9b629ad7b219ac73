import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { functionRegistry } from '../functions/index.ts';
import { describeApplication, environmentLines, PLACEMENT } from './describe.ts';
import { services, type Service } from './functions.ts';
import { PLACEHOLDER_TARGET, render } from './render.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const functionFolders = readdirSync(path.join(ROOT, 'functions'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const functions = services.filter((s) => s.kind === 'function');
/** Every name a service could ever be given, optional ones included. */
const everything = new Set(services.flatMap((s) => s.env.map((v) => v.name)));

describe('the deploy manifest', () => {
  it('has one function entry per folder under functions/, named after it, and one per registered module', () => {
    // functions/admin is the admin console: a service of its own kind, never a public function.
    expect(functions.map((s) => s.name).sort()).toEqual(functionFolders.filter((f) => f !== 'admin').sort());
    expect(services.filter((s) => s.kind === 'admin').map((s) => s.name)).toEqual(['admin']);
    expect(functions.map((s) => s.name).sort()).toEqual(Object.keys(functionRegistry).sort());
  });

  it('gives beheerder (ADMIN_DATABASE_URL) to the worker only, and no public function a way to it', () => {
    expect(services.filter((s) => s.role === 'beheerder').map((s) => s.name)).toEqual(['worker', 'admin']);
    for (const service of services) {
      const env = environmentLines(service, everything);
      const compose = render().get(`dokploy/out/${service.name}.json`)!;
      if (service.kind === 'function') {
        expect(service.role, service.name).toBe('kommit_app');
        expect(env, service.name).not.toContain('ADMIN_DATABASE_URL');
        expect(compose, service.name).not.toContain('ADMIN_DATABASE_URL');
        expect(env).toMatch(/^DATABASE_URL=\$\{\{environment\.DATABASE_URL\}\}$/m);
        expect(env).toContain(`FUNCTIONS=${service.name}`);
      } else {
        expect(env).toContain('ADMIN_DATABASE_URL=');
        expect(env).not.toMatch(/^(AUTH_)?DATABASE_URL=/m);
      }
    }
    const api = parseYaml(render().get('dokploy/out/docker-compose.yml')!).services.api;
    expect(api.environment.join('\n')).not.toContain('ADMIN_DATABASE_URL');
  });

  it('puts the admin console on a host of its own, where no public function is', () => {
    const admin = describeApplication(services.find((s) => s.kind === 'admin')!, PLACEHOLDER_TARGET);
    const publicHosts = new Set(functions.flatMap((s) => describeApplication(s, PLACEHOLDER_TARGET).domains.map((d) => d.host)));
    expect(admin.domains.map((d) => d.host)).toEqual([`admin.${PLACEHOLDER_TARGET.host}`]);
    expect(publicHosts.has(admin.domains[0]!.host)).toBe(false);
  });

  it('redeploys a function when its own folder or the shared code changes', () => {
    for (const service of functions) {
      expect(service.watchPaths).toEqual(expect.arrayContaining([`functions/${service.name}/**`, 'middleware/**', 'db/**', 'auth/**']));
    }
    const worker = services.find((s) => s.name === 'worker')!;
    expect(worker.watchPaths).toEqual(expect.arrayContaining(['worker.ts', 'functions/jobs.ts', 'middleware/**', 'db/**', 'auth/**']));
  });

  it("routes every path of every function to that function, and nowhere else, by Traefik's rules", () => {
    const routers = traefikRouters(services);
    for (const [name, app] of Object.entries(functionRegistry)) {
      for (const route of app.routes) {
        const sample = route.path.replace(/:[^/]+/g, 'id-1').replace(/\*$/, 'sign-in/email');
        expect(winner(routers, sample), `${route.method} ${route.path} (${name})`).toBe(name);
      }
    }
  });

  it('pins every service to EU nodes and rolls out start-first with a health check', () => {
    for (const service of services) {
      const { settings } = describeApplication(service, PLACEHOLDER_TARGET);
      expect(settings.placementSwarm).toEqual(PLACEMENT);
      expect(settings.updateConfigSwarm.Order).toBe('start-first');
      expect(settings.healthCheckSwarm.Test).toEqual(['CMD', 'node', 'dokploy/healthcheck.mjs']);
    }
  });

  it('has wrangler.toml and the rendered descriptions up to date with the manifest', () => {
    const files = render();
    expect(readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8')).toBe(files.get('wrangler.toml'));
    const workers = [...files.get('wrangler.toml')!.matchAll(/^\[env\.([a-z-]+)\]\nname = "([a-z-]+)"\nmain = "dist\/edge\/([a-z-]+)\.mjs"$/gm)];
    expect(workers.map((m) => [m[1], m[2], m[3]])).toEqual(functions.map((s) => [s.name, s.name, s.name]));
    expect(files.get('wrangler.toml')).toMatch(/^compatibility_flags = \["nodejs_compat"\]$/m);
    for (const service of services) expect(JSON.parse(files.get(`dokploy/out/${service.name}.json`)!).service).toBe(service.name);
    const compose = parseYaml(files.get('dokploy/out/docker-compose.yml')!);
    expect(Object.keys(compose.services)).toEqual(['migrate', 'api', 'worker', 'admin']);
    expect(compose.services.admin.labels.join('\n')).toContain('Host(`${KOMMIT_ADMIN_HOST');
    expect(compose.services.api.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    expect(compose.services.worker.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } });
  });

  it('names no hosting location outside the EU in the deploy files', () => {
    // Hetzner's US and Singapore locations; the EU ones are fsn1, nbg1, hel1.
    const outside = /\b(ash|hil|sin)(-dc\d+)?\b|us-(east|west)|ap-(south|north)east/i;
    const deployFiles = ['dokploy/Dockerfile', 'dokploy/README.md', 'wrangler.toml', ...[...render().keys()]];
    for (const file of deployFiles) {
      const text = render().get(file) ?? readFileSync(path.join(ROOT, file), 'utf8');
      expect(text.match(outside)?.[0], file).toBeUndefined();
    }
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const deploying = readme.slice(readme.indexOf('## Deploying'), readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1));
    expect(deploying).toMatch(/fsn1/);
    expect(deploying.match(outside)?.[0]).toBeUndefined();
  });
});

interface Router {
  service: string;
  priority: number;
  matches: (path: string) => boolean;
}

/** The routers Dokploy (domains) and the deploy (pattern routes) give Traefik, with Traefik's default priority: the rule's length. */
function traefikRouters(all: Service[]): Router[] {
  return all.flatMap((service) => {
    const { domains, patternRouters } = describeApplication(service, PLACEHOLDER_TARGET);
    return [
      ...domains.map((d) => ({
        service: service.name,
        priority: `Host(\`${d.host}\`) && PathPrefix(\`${d.path}\`)`.length,
        matches: (p: string) => p.startsWith(d.path),
      })),
      ...patternRouters.map((r) => {
        const pattern = new RegExp(r.rule.match(/PathRegexp\(`(.+)`\)/)![1]!);
        return { service: service.name, priority: 10_000, matches: (p: string) => pattern.test(p) };
      }),
    ];
  });
}

function winner(routers: Router[], requestPath: string) {
  const candidates = routers.filter((r) => r.matches(requestPath)).sort((a, b) => b.priority - a.priority);
  return candidates[0]?.service;
}
