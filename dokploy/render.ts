import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { appName, describeApplication, DOCKER_STAGE, DOCKERFILE, type Target } from './describe.ts';
import { CONTAINER_PORT, services, type Service } from './functions.ts';
import { redactCredentials } from './redact.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
export const OUT_DIR = 'dokploy/out';
/** The workerd version miniflare 4 ships with supports this date; workers and the edge test use it. */
export const COMPATIBILITY_DATE = '2026-07-30';

/** Placeholders for a render without a target: reserved names that resolve nowhere. */
export const PLACEHOLDER_TARGET: Target = {
  host: 'api.kommit.example',
  gitUrl: 'ssh://git@git.kommit.example/kommit/kommit.git',
  gitBranch: 'main',
};

export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): Target {
  return {
    host: env.KOMMIT_PUBLIC_HOST ?? PLACEHOLDER_TARGET.host,
    gitUrl: env.KOMMIT_GIT_URL ?? PLACEHOLDER_TARGET.gitUrl,
    gitBranch: env.KOMMIT_GIT_BRANCH ?? PLACEHOLDER_TARGET.gitBranch,
  };
}

const GENERATED = 'Rendered from dokploy/functions.ts by `npm run dokploy:render`: edit the manifest, not this file.';

/** Every rendered file, by path relative to the repository root. */
export function render(target: Target = PLACEHOLDER_TARGET): Map<string, string> {
  const files = new Map<string, string>();
  for (const service of services) {
    // For reading, not for sending: a token in the git URL stays out of the file.
    files.set(`${OUT_DIR}/${service.name}.json`, `${redactCredentials(JSON.stringify(applicationFile(service, target), null, 2))}\n`);
  }
  files.set(`${OUT_DIR}/docker-compose.yml`, composeFile());
  files.set('wrangler.toml', wranglerFile());
  return files;
}

function applicationFile(service: Service, target: Target) {
  const description = describeApplication(service, target);
  return {
    $comment: GENERATED,
    service: service.name,
    kind: service.kind,
    role: service.role,
    // What Dokploy's Traefik makes of the domains below, plus the pattern routers the deploy adds.
    traefikRules: [
      ...description.domains.map((d) => `Host(\`${d.host}\`) && PathPrefix(\`${d.path}\`)`),
      ...description.patternRouters.map((r) => `${r.rule}  (priority 10000: ${r.reason})`),
    ],
    sharedEnvironment: service.env.filter((v) => v.source === 'shared').map((v) => (v.optional ? `${v.name} (optional)` : v.name)),
    dokploy: {
      'application.create': description.create,
      'application.saveBuildType': description.buildType,
      'application.saveGitProvider': description.gitSource,
      'application.saveEnvironment': description.environment,
      'application.update': description.settings,
      'domain.create': description.domains,
    },
  };
}

/**
 * The single-node setup: one container serves every function (FUNCTIONS
 * unset), one runs the worker, and a one-shot container applies the
 * migrations as beheerder before either starts. Same image as the per-function
 * applications. Variables come from the shell or an .env file next to it.
 */
function composeFile() {
  const functions = services.filter((s) => s.kind === 'function');
  const worker = services.find((s) => s.kind === 'worker')!;
  const admin = services.find((s) => s.kind === 'admin')!;
  const image = 'kommit:${KOMMIT_IMAGE_TAG:-latest}';
  const environment = (list: Service['env']) => {
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const v of list) {
      if (seen.has(v.name) || v.name === 'FUNCTIONS') continue;
      seen.add(v.name);
      // A bare name passes the variable on only when it is set: an empty value
      // would not mean "default" to the server (LOG_LEVEL, limits).
      lines.push(v.source === 'fixed' ? `${v.name}=${v.value}` : v.optional ? v.name : `${v.name}=\${${v.name}:?set ${v.name}}`);
    }
    return lines;
  };
  const healthcheck = (s: Service) => ({
    test: ['CMD', 'node', 'dokploy/healthcheck.mjs'],
    interval: `${s.health.intervalSeconds}s`,
    timeout: `${s.health.timeoutSeconds}s`,
    start_period: `${s.health.startPeriodSeconds}s`,
    retries: s.health.retries,
  });
  // Fresh objects each time: shared ones would come out as YAML anchors.
  const migrated = () => ({ migrate: { condition: 'service_completed_successfully' } });
  // Every service names the build, so whichever compose builds first tags the image the others use.
  const build = () => ({ context: '../..', dockerfile: DOCKERFILE, target: DOCKER_STAGE });
  const document = {
    name: 'kommit',
    services: {
      migrate: {
        image,
        build: build(),
        // Runs once and exits; the others start only if it succeeded.
        command: ['node', '--enable-source-maps', 'dist/migrate.mjs'],
        environment: ['NODE_ENV=production', 'ADMIN_DATABASE_URL=${ADMIN_DATABASE_URL:?set ADMIN_DATABASE_URL}', 'PGSSLROOTCERT'],
        networks: ['dokploy-network'],
      },
      api: {
        image,
        build: build(),
        depends_on: migrated(),
        environment: environment(functions.flatMap((s) => s.env)),
        healthcheck: healthcheck(functions[0]!),
        restart: 'unless-stopped',
        labels: [
          'traefik.enable=true',
          'traefik.http.routers.kommit-api.rule=Host(`${KOMMIT_PUBLIC_HOST:?set KOMMIT_PUBLIC_HOST}`)',
          'traefik.http.routers.kommit-api.entrypoints=websecure',
          'traefik.http.routers.kommit-api.tls.certresolver=letsencrypt',
          `traefik.http.services.kommit-api.loadbalancer.server.port=${CONTAINER_PORT}`,
        ],
        networks: ['dokploy-network'],
      },
      worker: {
        image,
        build: build(),
        depends_on: migrated(),
        command: worker.command,
        environment: environment(worker.env),
        healthcheck: healthcheck(worker),
        restart: 'unless-stopped',
        networks: ['dokploy-network'],
      },
      admin: {
        image,
        build: build(),
        depends_on: migrated(),
        command: admin.command,
        environment: environment(admin.env),
        healthcheck: healthcheck(admin),
        restart: 'unless-stopped',
        labels: [
          'traefik.enable=true',
          'traefik.http.routers.kommit-admin.rule=Host(`${KOMMIT_ADMIN_HOST:?set KOMMIT_ADMIN_HOST}`)',
          'traefik.http.routers.kommit-admin.entrypoints=websecure',
          'traefik.http.routers.kommit-admin.tls.certresolver=letsencrypt',
          `traefik.http.services.kommit-admin.loadbalancer.server.port=${CONTAINER_PORT}`,
        ],
        networks: ['dokploy-network'],
      },
    },
    networks: { 'dokploy-network': { external: true } },
  };
  return `# ${GENERATED}\n# Single node: ${functions.map(appName).join(', ')} in the "api" container, the worker and the admin console beside it,\n# migrations first. The database is not in here: see README, "Deploying".\n${stringify(document, { lineWidth: 0 })}`;
}

/** Each function as a worker for workerd, under the manifest's names. */
function wranglerFile() {
  const lines = [
    `# ${GENERATED}`,
    '# Each function module as a worker for workerd: `npm run build:edge` writes dist/edge/<name>.mjs',
    '# (edge/build.ts) and the edge test runs every one of them under miniflare.',
    '# These are for workerd on our own EU nodes. Do not publish them to a global edge network:',
    '# requests and tenant data would then be handled outside the EU.',
    'name = "kommit"',
    `compatibility_date = "${COMPATIBILITY_DATE}"`,
    'compatibility_flags = ["nodejs_compat"]',
    'workers_dev = false',
    '# Already bundled by edge/build.ts.',
    'no_bundle = true',
    'rules = [{ type = "ESModule", globs = ["**/*.mjs"] }]',
    '# Secrets per worker (never in this file; a production worker refuses to serve without any of them):',
    '# DATABASE_URL, AUTH_DATABASE_URL, BETTER_AUTH_SECRET, WEBHOOK_SECRET_KEY, AUDIT_SIGNING_KEY.',
    '# The database CA must be trusted by the runtime.',
    '# Also per worker: KOMMIT_BASE_URL, the public origin (a production worker refuses to serve without it).',
  ];
  for (const service of services.filter((s) => s.kind === 'function')) {
    lines.push('', `[env.${service.name}]`, `name = "${service.name}"`, `main = "dist/edge/${service.name}.mjs"`, `vars = { NODE_ENV = "production" }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes every rendered file; dokploy/out/ is emptied first so removed services leave nothing behind. */
export function writeRendered(target: Target) {
  rmSync(path.join(ROOT, OUT_DIR), { recursive: true, force: true });
  mkdirSync(path.join(ROOT, OUT_DIR), { recursive: true });
  const files = render(target);
  for (const [file, content] of files) writeFileSync(path.join(ROOT, file), content);
  return [...files.keys()];
}

if (import.meta.main) {
  const target = targetFromEnv();
  for (const file of writeRendered(target)) process.stdout.write(`wrote ${file}\n`);
  if (target.host === PLACEHOLDER_TARGET.host) process.stdout.write(`(placeholder host ${target.host}: set KOMMIT_PUBLIC_HOST and KOMMIT_GIT_URL for your own)\n`);
}
