import { CONTAINER_PORT, type Route, type Service } from './functions.ts';

/**
 * Turns a manifest entry into Dokploy's own vocabulary: the bodies of the
 * procedures that configure an application (without the ids, which only exist
 * once Dokploy has created it). `npm run dokploy:render` writes these out;
 * `npm run deploy` sends them. One function, so both always agree.
 */

export interface Target {
  /** Public host of the API, e.g. api.kommit.eu; every function is a path on it. */
  host: string;
  /** Host of the admin console (default admin.<host>): never a path on the public one. */
  adminHost?: string;
  /** Git repository Dokploy builds from, and its branch. */
  gitUrl: string;
  gitBranch: string;
}

export const DOCKERFILE = 'dokploy/Dockerfile';
/** The stage of the Dockerfile that becomes the image (the others only build it). */
export const DOCKER_STAGE = 'runtime';
/** Docker Swarm durations are nanoseconds. */
const SECOND = 1_000_000_000;
const MB = 1024 * 1024;

/**
 * Nodes are labelled with their Hetzner location when they join the swarm
 * (docker node update --label-add kommit.region=eu --label-add kommit.location=fsn1).
 * Services run only on EU nodes and spread over the locations there are.
 */
export const PLACEMENT = {
  Constraints: ['node.labels.kommit.region==eu'],
  Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.kommit.location' } }],
};

export function appName(service: Service) {
  return `kommit-${service.name}`;
}

/** The application's env as Dokploy stores it: fixed values inline, shared ones as ${{environment.NAME}}. */
export function environmentLines(service: Service, defined?: Set<string>) {
  return service.env
    // An optional name only where the environment defines it: Dokploy refuses a reference to a missing one.
    .filter((v) => !v.optional || (defined?.has(v.name) ?? false))
    .map((v) => (v.source === 'fixed' ? `${v.name}=${v.value}` : `${v.name}=\${{environment.${v.name}}}`))
    .join('\n');
}

/** Shared names the Dokploy environment must define before this service can deploy. */
export function requiredShared(service: Service) {
  return service.env.filter((v) => v.source === 'shared' && !v.optional).map((v) => v.name);
}

export function describeApplication(service: Service, target: Target, defined?: Set<string>) {
  const health = service.health;
  return {
    create: { name: appName(service), appName: appName(service), description: service.description },
    settings: {
      description: service.description,
      replicas: service.replicas,
      // Dokploy splits this on spaces into the container's command; null keeps the image's.
      command: service.command ? service.command.join(' ') : null,
      memoryLimit: String(service.resources.memoryLimitMb * MB),
      memoryReservation: String(service.resources.memoryReservationMb * MB),
      cpuLimit: String(Math.round(service.resources.cpuLimit * SECOND)),
      cpuReservation: String(Math.round(service.resources.cpuReservation * SECOND)),
      healthCheckSwarm: {
        Test: ['CMD', 'node', 'dokploy/healthcheck.mjs'],
        Interval: health.intervalSeconds * SECOND,
        Timeout: health.timeoutSeconds * SECOND,
        StartPeriod: health.startPeriodSeconds * SECOND,
        Retries: health.retries,
      },
      // Rolling: a new task starts and must turn healthy before an old one
      // stops; a failed update rolls back by itself.
      updateConfigSwarm: { Parallelism: 1, Delay: 5 * SECOND, FailureAction: 'rollback', Monitor: 30 * SECOND, MaxFailureRatio: 0, Order: 'start-first' },
      rollbackConfigSwarm: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 30 * SECOND, MaxFailureRatio: 0, Order: 'start-first' },
      restartPolicySwarm: { Condition: 'on-failure', Delay: 5 * SECOND, MaxAttempts: 0, Window: 60 * SECOND },
      placementSwarm: PLACEMENT,
    },
    buildType: {
      buildType: 'dockerfile' as const,
      dockerfile: DOCKERFILE,
      dockerContextPath: '.',
      dockerBuildStage: DOCKER_STAGE,
      // Required by the procedure, unused by Dockerfile builds: Dokploy's defaults.
      herokuVersion: '24',
      railpackVersion: '0.15.4',
    },
    gitSource: {
      customGitUrl: target.gitUrl,
      customGitBranch: target.gitBranch,
      customGitBuildPath: '/',
      watchPaths: service.watchPaths,
      enableSubmodules: false,
    },
    environment: {
      env: environmentLines(service, defined),
      buildArgs: '',
      buildSecrets: '',
      // Dokploy would otherwise write the resolved env (secrets) as .env into the build context.
      createEnvFile: false,
    },
    domains: service.routes.filter((r): r is Extract<Route, { prefix: string }> => 'prefix' in r).map((r) => ({
      host: service.kind === 'admin' ? (target.adminHost ?? `admin.${target.host}`) : target.host,
      path: r.prefix,
      port: CONTAINER_PORT,
      https: true,
      certificateType: 'letsencrypt' as const,
      customCertResolver: '',
      domainType: 'application' as const,
      // Functions serve their full paths: nothing is stripped or added.
      stripPath: false,
      internalPath: '/',
    })),
    patternRouters: service.routes
      .filter((r): r is Extract<Route, { pattern: string }> => 'pattern' in r)
      .map((r, i) => ({ key: `kommit-pattern-${i}`, rule: patternRule(target.host, r.pattern), reason: r.reason })),
  };
}

export type ApplicationDescription = ReturnType<typeof describeApplication>;

export function patternRule(host: string, pattern: string) {
  return `Host(\`${host}\`) && PathRegexp(\`${pattern}\`)`;
}

/**
 * A Traefik router for a pattern route, next to the routers Dokploy writes
 * for the application's domains (in the same dynamic file, pointing at the
 * service Dokploy made for its first domain). Its explicit priority puts it
 * ahead of every prefix router, whose priority is the length of its rule: it
 * only matches the paths it names.
 */
export function patternRouter(rule: string, service: string) {
  return { rule, service, entryPoints: ['websecure'], priority: 10_000, middlewares: [] as string[], tls: { certResolver: 'letsencrypt' } };
}
