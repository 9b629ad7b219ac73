import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';

/**
 * A local stand-in for Dokploy's HTTP API (`/api/<router>.<procedure>`,
 * x-api-key), strict where Dokploy is strict and stricter where it is lax:
 * each procedure's input is checked against the shape Dokploy's source
 * declares for it (packages/server/src/db/schema/*.ts, apps/dokploy/server/api/routers/*.ts),
 * with unknown keys refused (Dokploy would drop them silently; here a typo
 * fails the test). Queries must be GETs and mutations POSTs. Anything else,
 * and any request it refuses, is recorded in `violations`.
 */

// Mirrors of Dokploy's Swarm settings schemas (schema/shared.ts): strict there too.
const HealthCheckSwarm = z.strictObject({ Test: z.array(z.string()).optional(), Interval: z.number().optional(), Timeout: z.number().optional(), StartPeriod: z.number().optional(), Retries: z.number().optional() });
const RestartPolicySwarm = z.strictObject({ Condition: z.string().optional(), Delay: z.number().optional(), MaxAttempts: z.number().optional(), Window: z.number().optional() });
const PlacementSwarm = z.strictObject({
  Constraints: z.array(z.string()).optional(),
  Preferences: z.array(z.strictObject({ Spread: z.object({ SpreadDescriptor: z.string() }) })).optional(),
  MaxReplicas: z.number().optional(),
  Platforms: z.array(z.strictObject({ Architecture: z.string(), OS: z.string() })).optional(),
});
const UpdateConfigSwarm = z.strictObject({ Parallelism: z.number(), Delay: z.number().optional(), FailureAction: z.string().optional(), Monitor: z.number().optional(), MaxFailureRatio: z.number().optional(), Order: z.string() });

const APP_NAME = /^[a-zA-Z0-9._-]+$/;
const BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*@\{)[^\s~^:?*[\\]+(?<![/.])$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const nullableString = z.string().nullable().optional();

// Columns of Dokploy's application table that application.update accepts (all optional), typed where we send them.
const applicationColumns = {
  name: z.string().min(1),
  appName: z.string().min(1).max(63).regex(APP_NAME),
  description: nullableString,
  env: nullableString,
  buildArgs: nullableString,
  buildSecrets: nullableString,
  memoryReservation: nullableString,
  memoryLimit: nullableString,
  cpuReservation: nullableString,
  cpuLimit: nullableString,
  title: nullableString,
  enabled: z.boolean().nullable().optional(),
  subtitle: nullableString,
  command: nullableString,
  args: z.array(z.string()).nullable().optional(),
  autoDeploy: z.boolean().optional(),
  replicas: z.number().int().min(0),
  healthCheckSwarm: HealthCheckSwarm.nullable(),
  restartPolicySwarm: RestartPolicySwarm.nullable(),
  placementSwarm: PlacementSwarm.nullable(),
  updateConfigSwarm: UpdateConfigSwarm.nullable(),
  rollbackConfigSwarm: UpdateConfigSwarm.nullable(),
  stopGracePeriodSwarm: z.number().nullable(),
  watchPaths: z.array(z.string()).nullable().optional(),
  dockerfile: nullableString,
  dockerContextPath: nullableString,
  dockerBuildStage: nullableString,
  buildType: z.enum(['dockerfile', 'heroku_buildpacks', 'paketo_buildpacks', 'nixpacks', 'static', 'railpack']),
  createEnvFile: z.boolean().optional(),
  cleanCache: z.boolean().optional(),
};

const DomainFields = {
  host: z.string().min(1).refine((v) => v === v.trim() && HOSTNAME.test(v), 'not a valid hostname'),
  path: z.string().min(1).nullable().optional(),
  port: z.number().int().min(1).max(65535).nullable().optional(),
  https: z.boolean().optional(),
  certificateType: z.enum(['letsencrypt', 'none', 'custom']).optional(),
  customCertResolver: z.string(),
  customEntrypoint: nullableString,
  serviceName: nullableString,
  domainType: z.enum(['compose', 'application', 'preview']).optional(),
  internalPath: z.string().nullable().optional(),
  stripPath: z.boolean().optional(),
  middlewares: z.array(z.string()).nullable().optional(),
  forwardAuthEnabled: z.boolean().optional(),
};
function domainRules(input: { https?: boolean; certificateType?: string; customCertResolver?: string; stripPath?: boolean; path?: string | null; internalPath?: string | null }, ctx: z.RefinementCtx) {
  if (input.https && !input.certificateType) ctx.addIssue({ code: 'custom', path: ['certificateType'], message: 'Required' });
  if (input.certificateType === 'custom' && !input.customCertResolver) ctx.addIssue({ code: 'custom', path: ['customCertResolver'], message: 'Required when certificate type is custom' });
  if (input.stripPath && (!input.path || input.path === '/')) ctx.addIssue({ code: 'custom', path: ['stripPath'], message: 'needs a path other than /' });
  if (input.internalPath && input.internalPath !== '/' && !input.internalPath.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['internalPath'], message: "must start with '/'" });
}

const id = z.string().min(1);
const QUERIES = {
  'project.all': z.strictObject({}),
  'environment.one': z.strictObject({ environmentId: id }),
  'application.one': z.strictObject({ applicationId: id }),
  'application.readTraefikConfig': z.strictObject({ applicationId: id }),
  'domain.byApplicationId': z.strictObject({ applicationId: id }),
  'deployment.all': z.strictObject({ applicationId: id }),
  'deployment.readLogs': z.strictObject({ deploymentId: id, tail: z.coerce.number().int().min(1).max(10000).optional() }),
} as const;
const MUTATIONS = {
  'project.create': z.strictObject({ name: z.string().min(1), description: z.string().optional(), env: z.string().optional() }),
  'environment.create': z.strictObject({ name: z.string().min(1), description: z.string().optional(), projectId: id }),
  'application.create': z.strictObject({
    name: z.string().min(1),
    appName: applicationColumns.appName.optional(),
    description: nullableString,
    environmentId: z.string(),
    serverId: nullableString,
    sourceType: z.enum(['github', 'docker', 'git', 'gitlab', 'bitbucket', 'gitea', 'drop']).optional(),
  }),
  // .required() in Dokploy: every picked key must be present.
  'application.saveBuildType': z.strictObject({
    applicationId: z.string(),
    buildType: applicationColumns.buildType,
    dockerfile: z.string(),
    dockerContextPath: z.string().nullable(),
    dockerBuildStage: z.string().nullable(),
    herokuVersion: z.string(),
    railpackVersion: z.string(),
    publishDirectory: nullableString,
    isStaticSpa: z.boolean().nullable().optional(),
  }),
  'application.saveGitProvider': z.strictObject({
    applicationId: z.string(),
    customGitBuildPath: z.string().nullable(),
    customGitUrl: z.string().nullable(),
    watchPaths: z.array(z.string()),
    enableSubmodules: z.boolean(),
    customGitBranch: z.string().min(1).regex(BRANCH),
    customGitSSHKeyId: z.string().optional(),
  }),
  'application.saveEnvironment': z.strictObject({ applicationId: z.string(), env: z.string(), buildArgs: z.string(), buildSecrets: z.string(), createEnvFile: z.boolean() }),
  'application.update': z.strictObject({ applicationId: id, ...Object.fromEntries(Object.entries(applicationColumns).map(([k, v]) => [k, v.optional()])) }),
  'application.updateTraefikConfig': z.strictObject({ applicationId: z.string(), traefikConfig: z.string() }),
  'application.deploy': z.strictObject({ applicationId: id, title: z.string().optional(), description: z.string().optional() }),
  'domain.create': z.strictObject({ ...DomainFields, applicationId: nullableString, composeId: nullableString, previewDeploymentId: nullableString }).superRefine(domainRules),
  'domain.update': z.strictObject({ ...DomainFields, enabled: z.boolean().optional(), domainId: z.string() }).superRefine(domainRules),
} as const;

export type Procedure = keyof typeof QUERIES | keyof typeof MUTATIONS;

interface Application {
  applicationId: string;
  name: string;
  appName: string;
  environmentId: string;
  settings: Record<string, unknown>;
  traefik: string | null;
}

export interface FakeDokployOptions {
  /** Applications (by manifest name, e.g. "hooks") whose deployments end in error. */
  failing?: string[];
  /** Milliseconds from application.deploy to the deployment appearing, and to its end. */
  queueMs?: number;
  buildMs?: number;
}

export async function startFakeDokploy(options: FakeDokployOptions = {}) {
  const apiKey = `fake_${randomBytes(16).toString('hex')}`;
  const newId = () => randomBytes(8).toString('base64url');
  const state = {
    projects: [] as { projectId: string; name: string }[],
    environments: [] as { environmentId: string; name: string; projectId: string; env: string }[],
    applications: [] as Application[],
    domains: [] as (Record<string, unknown> & { domainId: string; applicationId: string; uniqueConfigKey: number })[],
    deployments: [] as { deploymentId: string; applicationId: string; status: string; createdAt: string; errorMessage: string | null; log: string[] }[],
  };
  const calls: { method: string; procedure: string; input: Record<string, unknown>; at: number }[] = [];
  const violations: string[] = [];
  let configKeys = 0;

  function handle(procedure: string, input: Record<string, any>): unknown {
    switch (procedure as Procedure) {
      case 'project.all':
        return state.projects.map((p) => ({
          ...p,
          environments: state.environments
            .filter((e) => e.projectId === p.projectId)
            .map((e) => ({
              environmentId: e.environmentId,
              name: e.name,
              isDefault: e.name === 'production',
              applications: state.applications.filter((a) => a.environmentId === e.environmentId).map((a) => ({ applicationId: a.applicationId, name: a.name, applicationStatus: 'idle' })),
            })),
        }));
      case 'project.create': {
        const project = { projectId: newId(), name: input.name };
        const environment = { environmentId: newId(), name: 'production', projectId: project.projectId, env: '' };
        state.projects.push(project);
        state.environments.push(environment);
        return { project, environment };
      }
      case 'environment.create': {
        if (input.name === 'production') throw new Refusal(400, "You cannot create a environment with the name 'production'");
        find(state.projects, 'projectId', input.projectId);
        const environment = { environmentId: newId(), name: input.name, projectId: input.projectId, env: '' };
        state.environments.push(environment);
        return environment;
      }
      case 'environment.one':
        return find(state.environments, 'environmentId', input.environmentId);
      case 'application.create': {
        find(state.environments, 'environmentId', input.environmentId);
        // Dokploy appends a random suffix to the appName it is given.
        const application: Application = { applicationId: newId(), name: input.name, appName: `${input.appName ?? 'app'}-${randomBytes(3).toString('hex')}`, environmentId: input.environmentId, settings: {}, traefik: null };
        state.applications.push(application);
        return { applicationId: application.applicationId, name: application.name, appName: application.appName };
      }
      case 'application.one': {
        const application = find(state.applications, 'applicationId', input.applicationId);
        return { applicationId: application.applicationId, name: application.name, appName: application.appName, ...application.settings };
      }
      case 'application.saveBuildType':
      case 'application.saveGitProvider':
      case 'application.saveEnvironment':
      case 'application.update': {
        const { applicationId, ...settings } = input;
        Object.assign(find(state.applications, 'applicationId', applicationId).settings, settings);
        return true;
      }
      case 'application.readTraefikConfig':
        return find(state.applications, 'applicationId', input.applicationId).traefik;
      case 'application.updateTraefikConfig': {
        const application = find(state.applications, 'applicationId', input.applicationId);
        checkTraefik(input.traefikConfig);
        application.traefik = input.traefikConfig;
        return true;
      }
      case 'domain.byApplicationId':
        return state.domains.filter((d) => d.applicationId === input.applicationId);
      case 'domain.create': {
        const application = find(state.applications, 'applicationId', input.applicationId);
        const domain = { path: '/', port: 3000, https: false, certificateType: 'none', ...input, domainId: newId(), applicationId: application.applicationId, uniqueConfigKey: ++configKeys };
        state.domains.push(domain);
        writeDomainRouters(application, domain);
        return domain;
      }
      case 'domain.update': {
        const domain = find(state.domains, 'domainId', input.domainId);
        Object.assign(domain, input);
        return true;
      }
      case 'application.deploy': {
        const application = find(state.applications, 'applicationId', input.applicationId);
        const service = application.name.replace(/^kommit-/, '');
        setTimeout(() => {
          // Like Dokploy's, the build log names the URL it clones from, credentials and all.
          const deployment = { deploymentId: newId(), applicationId: application.applicationId, status: 'running', createdAt: new Date().toISOString(), errorMessage: null as string | null, log: [`Building ${application.appName}`, `Cloning Repo Custom ${application.settings.customGitUrl} to /etc/dokploy/applications/${application.appName}/code: ✅`, `docker build -f ${application.settings.dockerfile} --target ${application.settings.dockerBuildStage} .`] };
          state.deployments.push(deployment);
          setTimeout(() => {
            if (options.failing?.includes(service)) {
              deployment.log.push('❌ Docker build failed');
              deployment.status = 'error';
              deployment.errorMessage = 'Docker build failed';
            } else {
              deployment.log.push('✅ Docker build completed.', `Service ${application.appName} updated`);
              deployment.status = 'done';
            }
          }, options.buildMs ?? 60);
        }, options.queueMs ?? 30);
        return undefined;
      }
      case 'deployment.all':
        return state.deployments
          .filter((d) => d.applicationId === input.applicationId)
          .map(({ log: _log, ...d }) => d)
          .reverse();
      case 'deployment.readLogs':
        return find(state.deployments, 'deploymentId', input.deploymentId).log.join('\n');
      default:
        throw new Refusal(404, `no procedure ${procedure}`);
    }
  }

  /** What Dokploy's manageDomain writes into the application's Traefik file. */
  function writeDomainRouters(application: Application, domain: Record<string, any>) {
    const config = (application.traefik ? parseYaml(application.traefik) : null) ?? { http: { routers: {}, services: {} } };
    const rule = `Host(\`${domain.host}\`)${domain.path && domain.path !== '/' ? ` && PathPrefix(\`${domain.path}\`)` : ''}`;
    const service = `${application.appName}-service-${domain.uniqueConfigKey}`;
    config.http.routers[`${application.appName}-router-${domain.uniqueConfigKey}`] = { rule, service, middlewares: ['redirect-to-https'], entryPoints: ['web'] };
    config.http.routers[`${application.appName}-router-websecure-${domain.uniqueConfigKey}`] = { rule, service, middlewares: [], entryPoints: ['websecure'], tls: { certResolver: 'letsencrypt' } };
    config.http.services[service] = { loadBalancer: { servers: [{ url: `http://${application.appName}:${domain.port}` }], passHostHeader: true } };
    application.traefik = stringifyYaml(config);
  }

  /** Traefik would refuse a router pointing at no service, or a rule it cannot parse. */
  function checkTraefik(text: string) {
    let config: any;
    try {
      config = parseYaml(text);
    } catch (error) {
      throw new Refusal(400, `traefikConfig is not YAML: ${(error as Error).message}`);
    }
    for (const [name, router] of Object.entries<any>(config?.http?.routers ?? {})) {
      if (!config.http.services?.[router.service]) throw new Refusal(400, `router ${name} points at unknown service ${router.service}`);
      if (!/^Host\(`[^`]+`\)( && Path(Prefix|Regexp)\(`[^`]+`\))?$/.test(router.rule)) throw new Refusal(400, `router ${name} has a rule Traefik cannot parse: ${router.rule}`);
    }
  }

  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const procedure = url.pathname.replace(/^\/api\//, '');
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    const refuse = (status: number, message: string, issues?: unknown) => {
      violations.push(`${request.method} ${url.pathname}: ${message}${issues ? ` ${JSON.stringify(issues)}` : ''}`);
      answer(status, { message, code: status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', ...(issues ? { issues } : {}) });
    };
    if (request.headers['x-api-key'] !== apiKey) return refuse(401, 'Unauthorized');
    const isQuery = procedure in QUERIES;
    const isMutation = procedure in MUTATIONS;
    if (!url.pathname.startsWith('/api/') || (!isQuery && !isMutation)) return refuse(404, `no procedure ${procedure}`);
    if (request.method !== (isQuery ? 'GET' : 'POST')) return refuse(405, `${procedure} is a ${isQuery ? 'query (GET)' : 'mutation (POST)'}`);
    let raw: unknown;
    if (isQuery) raw = Object.fromEntries(url.searchParams);
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (request.headers['content-type'] !== 'application/json') return refuse(400, 'mutations take a JSON body');
      try {
        raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return refuse(400, 'the body is not JSON');
      }
    }
    const schema = (isQuery ? QUERIES : MUTATIONS)[procedure as never] as z.ZodType;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return refuse(400, `invalid input for ${procedure}`, parsed.error.issues.map((i) => ({ path: i.path, message: i.message })));
    calls.push({ method: request.method!, procedure, input: raw as Record<string, unknown>, at: Date.now() });
    try {
      answer(200, handle(procedure, parsed.data as Record<string, unknown>));
    } catch (error) {
      if (error instanceof Refusal) return refuse(error.status, error.message);
      throw error;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    state,
    calls,
    violations,
    /** Procedures called, in order (reads included). */
    procedures: () => calls.map((c) => c.procedure),
    mutations: () => calls.filter((c) => c.method === 'POST'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function find<T, K extends keyof T>(rows: T[], key: K, value: unknown): T {
  const row = rows.find((r) => r[key] === value);
  if (!row) throw new Refusal(404, `no ${String(key).replace(/Id$/, '')} ${String(value)}`);
  return row;
}
