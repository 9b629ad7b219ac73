import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { migrateRelease } from '../db/release-migrate.ts';
import { DokployClient, DokployError } from './client.ts';
import { redactCredentials } from './redact.ts';
import { appName, describeApplication, patternRouter, requiredShared, type ApplicationDescription, type Target } from './describe.ts';
import { serviceByName, services, type Service } from './functions.ts';
import { PLACEHOLDER_TARGET } from './render.ts';
import { wholeNumberSetting } from '../db/settings.ts';

/**
 * `npm run deploy -- <service>... | --all [--dry-run] [--skip-migrations]`
 *
 * 1. finds or creates the Dokploy project and environment;
 * 2. checks the environment defines every shared variable the services need
 *    (applications reference them as ${{environment.NAME}}; values never pass
 *    through this tool);
 * 3. applies pending migrations once, as beheerder (ADMIN_DATABASE_URL), before
 *    any new version starts;
 * 4. per service, worker first: finds or creates the application, saves its
 *    build (Dockerfile), git source with watch paths, environment, Swarm
 *    settings and domains, then deploys it and follows the deployment to its end.
 */

interface Environment {
  environmentId: string;
  name: string;
  applications?: { applicationId: string; name: string }[];
}
interface Project {
  projectId: string;
  name: string;
  environments: Environment[];
}
interface Domain {
  domainId: string;
  host: string;
  path: string | null;
  port: number | null;
  https: boolean;
  certificateType: string;
  uniqueConfigKey: number;
}
interface Deployment {
  deploymentId: string;
  status: 'running' | 'done' | 'error' | 'cancelled' | null;
  createdAt: string;
  errorMessage?: string | null;
}

export interface DeployOptions {
  services: Service[];
  target: Target;
  /** url undefined: a dry run with no Dokploy to ask, planned as if Dokploy were empty. */
  dokploy: { url?: string; apiKey: string; project: string; environment: string; serverId?: string };
  dryRun: boolean;
  /** beheerder's URL; undefined with skipMigrations. */
  adminUrl?: string;
  skipMigrations: boolean;
  pollMs: number;
  timeoutMs: number;
  out: (line: string) => void;
}

export class DeployFailed extends Error {}

/** "created", or in a dry run "to be created". */
function done(client: DokployClient, verb: string) {
  return client.dryRun ? `to be ${verb}` : verb;
}

export async function deploy(options: DeployOptions) {
  const { out } = options;
  const client = new DokployClient({ url: options.dokploy.url ?? 'http://dokploy.invalid', apiKey: options.dokploy.apiKey, dryRun: options.dryRun, print: (line) => out(`  would call ${line}`) });
  out(`kommit deploy${options.dryRun ? ' (dry run: nothing is changed)' : ''}: ${options.services.map((s) => s.name).join(', ')}`);
  out(`  Dokploy ${options.dokploy.url ?? '(none given: planning as for an empty one)'}, project "${options.dokploy.project}", environment "${options.dokploy.environment}"`);
  out(`  source ${options.target.gitUrl} (${options.target.gitBranch})${releaseNote()}, public host ${options.target.host}`);

  const environment = await ensureEnvironment(client, options);
  const defined = await checkSharedEnvironment(client, environment.environmentId, options);

  if (options.skipMigrations) out('migrations: skipped (--skip-migrations)');
  else if (options.dryRun) out('migrations: would apply pending migrations as beheerder before any service deploys');
  else {
    out('migrations: applying as beheerder…');
    await migrateRelease(options.adminUrl!).catch((error: Error) => {
      throw new DeployFailed(`migrations failed, nothing was deployed: ${error.message}`);
    });
    out('migrations: up to date');
  }

  for (const service of options.services) {
    const tag = `[${service.name}]`;
    const log = (line: string) => out(`${tag} ${line}`);
    const description = describeApplication(service, options.target, defined);
    const application = await ensureApplication(client, environment, service, description, options, log);
    await configure(client, application.applicationId, service, description, log);
    await reconcileDomains(client, application, description, log);
    await follow(client, application.applicationId, service, options, log);
  }
  out(options.dryRun ? 'dry run finished: nothing was changed' : `deployed ${options.services.map((s) => s.name).join(', ')}`);
}

async function ensureEnvironment(client: DokployClient, options: DeployOptions): Promise<Environment> {
  const { project: projectName, environment: environmentName } = options.dokploy;
  const projects = options.dokploy.url ? await client.query<Project[]>('project.all') : [];
  let project = projects.find((p) => p.name === projectName);
  if (!project) {
    const created = await client.mutate<{ project: { projectId: string }; environment: Environment }>(
      'project.create',
      { name: projectName, description: 'Kommit: one application per function, plus the worker' },
      (id) => ({ project: { projectId: id }, environment: { environmentId: `${id}-production`, name: 'production' } }),
    );
    options.out(`project "${projectName}": ${done(client, 'created')}`);
    // Dokploy gives every new project a "production" environment.
    project = { projectId: created.project.projectId, name: projectName, environments: [{ ...created.environment, applications: [] }] };
  }
  let environment = project.environments.find((e) => e.name === environmentName);
  if (!environment) {
    const created = await client.mutate<Environment>(
      'environment.create',
      { name: environmentName, projectId: project.projectId, description: `Kommit ${environmentName}` },
      (id) => ({ environmentId: id, name: environmentName }),
    );
    options.out(`environment "${environmentName}": ${done(client, 'created')}`);
    environment = { ...created, applications: [] };
  }
  return environment;
}

async function checkSharedEnvironment(client: DokployClient, environmentId: string, options: DeployOptions) {
  const environment = client.dryRun && environmentId.startsWith('<dry-run')
    ? { env: '' }
    : await client.query<{ env: string | null }>('environment.one', { environmentId });
  const defined = new Set(
    (environment.env ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#') && line.includes('='))
      .map((line) => line.slice(0, line.indexOf('=')).trim()),
  );
  const needed = [...new Set(options.services.flatMap(requiredShared))];
  const missing = needed.filter((name) => !defined.has(name));
  if (missing.length) {
    const message = `the Dokploy environment "${options.dokploy.environment}" does not define ${missing.join(', ')}: set them under its Environment Variables (secrets stay in Dokploy; applications reference them), then deploy again`;
    if (!options.dryRun) throw new DeployFailed(message);
    options.out(`warning: ${message}`);
  } else {
    options.out(`environment variables: the ${needed.length} shared ones needed are defined`);
  }
  return defined;
}

async function ensureApplication(
  client: DokployClient,
  environment: Environment,
  service: Service,
  description: ApplicationDescription,
  options: DeployOptions,
  log: (line: string) => void,
) {
  const existing = environment.applications?.find((a) => a.name === description.create.name);
  if (existing) {
    const found = await client.query<{ applicationId: string; appName: string }>('application.one', { applicationId: existing.applicationId });
    log(`application ${description.create.name}: found (${found.appName})`);
    return found;
  }
  const created = await client.mutate<{ applicationId: string; appName: string }>(
    'application.create',
    { ...description.create, environmentId: environment.environmentId, ...(options.dokploy.serverId ? { serverId: options.dokploy.serverId } : {}) },
    (id) => ({ applicationId: id, appName: `${appName(service)}-<suffix>` }),
  );
  log(`application ${description.create.name}: ${done(client, 'created')} (${created.appName})`);
  return created;
}

async function configure(client: DokployClient, applicationId: string, service: Service, description: ApplicationDescription, log: (line: string) => void) {
  await client.mutate('application.saveBuildType', { applicationId, ...description.buildType });
  await client.mutate('application.saveGitProvider', { applicationId, ...description.gitSource });
  await client.mutate('application.saveEnvironment', { applicationId, ...description.environment });
  await client.mutate('application.update', { applicationId, ...description.settings });
  const vars = description.environment.env.split('\n').length;
  log(
    `${done(client, 'saved')}: Dockerfile build, git source (${description.gitSource.watchPaths.length} watch paths), ${vars} env vars, ` +
      `${service.replicas} replica(s), health check, start-first rolling update, EU placement`,
  );
}

async function reconcileDomains(client: DokployClient, application: { applicationId: string; appName: string }, description: ApplicationDescription, log: (line: string) => void) {
  if (!description.domains.length) return;
  const existing = client.dryRun && application.applicationId.startsWith('<dry-run')
    ? []
    : await client.query<Domain[]>('domain.byApplicationId', { applicationId: application.applicationId });
  const wanted = new Set(description.domains.map((d) => `${d.host}${d.path}`));
  let first: Domain | undefined;
  for (const domain of description.domains) {
    const current = existing.find((d) => d.host === domain.host && (d.path ?? '/') === domain.path);
    if (!current) {
      const created = await client.mutate<Domain>('domain.create', { ...domain, applicationId: application.applicationId }, () => ({ ...domain, domainId: '<dry-run>', uniqueConfigKey: 0 }));
      log(`route https://${domain.host}${domain.path}: ${done(client, 'created')}`);
      first ??= created;
    } else if (current.port !== domain.port || !current.https || current.certificateType !== domain.certificateType) {
      const { domainType: _type, ...fields } = domain;
      await client.mutate('domain.update', { ...fields, domainId: current.domainId });
      log(`route https://${domain.host}${domain.path}: ${done(client, 'updated')}`);
      first ??= current;
    } else {
      log(`route https://${domain.host}${domain.path}: unchanged`);
      first ??= current;
    }
  }
  for (const stale of existing.filter((d) => !wanted.has(`${d.host}${d.path ?? '/'}`))) {
    log(`warning: route ${stale.host}${stale.path ?? '/'} is not in the manifest; left as it is (remove it in Dokploy if it is stale)`);
  }
  if (description.patternRouters.length) await addPatternRouters(client, application, description, first!, log);
}

/**
 * Dokploy's domains are path prefixes. A route a prefix cannot express gets a
 * router of our own in the application's Traefik file, next to Dokploy's
 * routers and pointing at the service Dokploy made for the first domain.
 */
async function addPatternRouters(
  client: DokployClient,
  application: { applicationId: string; appName: string },
  description: ApplicationDescription,
  first: Domain,
  log: (line: string) => void,
) {
  const serviceName = `${application.appName}-service-${first.uniqueConfigKey}`;
  const current = client.dryRun && application.applicationId.startsWith('<dry-run')
    ? null
    : await client.query<string | null>('application.readTraefikConfig', { applicationId: application.applicationId });
  const config = (current ? parseYaml(current) : null) ?? {};
  config.http ??= {};
  config.http.routers ??= {};
  let changed = false;
  for (const router of description.patternRouters) {
    const name = `${application.appName}-${router.key}`;
    const wanted = patternRouter(router.rule, serviceName);
    if (JSON.stringify(config.http.routers[name]) !== JSON.stringify(wanted)) {
      config.http.routers[name] = wanted;
      changed = true;
    }
  }
  if (!changed) {
    log(`pattern routes: unchanged`);
    return;
  }
  await client.mutate('application.updateTraefikConfig', { applicationId: application.applicationId, traefikConfig: stringifyYaml(config, { lineWidth: 0 }) });
  log(`pattern routes ${done(client, 'saved')}: ${description.patternRouters.map((r) => r.rule).join(', ')}`);
}

async function follow(client: DokployClient, applicationId: string, service: Service, options: DeployOptions, log: (line: string) => void) {
  const before = client.dryRun ? [] : await client.query<Deployment[]>('deployment.all', { applicationId });
  await client.mutate('application.deploy', { applicationId, title: `kommit deploy ${service.name}${releaseNote()}`, description: 'npm run deploy' });
  if (client.dryRun) return;
  log('deploy queued');
  const started = Date.now();
  const seen = new Set(before.map((d) => d.deploymentId));
  let status: Deployment['status'] | 'queued' = 'queued';
  let printed: string[] = [];
  while (Date.now() - started < options.timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    const deployments = await client.query<Deployment[]>('deployment.all', { applicationId });
    const current = deployments.find((d) => !seen.has(d.deploymentId));
    if (!current) continue;
    const logs = await client.query<string>('deployment.readLogs', { deploymentId: current.deploymentId }).catch(() => '');
    const lines = (logs ?? '').split('\n').filter(Boolean);
    for (const line of newLines(printed, lines)) log(`  │ ${line}`);
    printed = lines;
    if (current.status !== status) {
      status = current.status;
      log(`${status} (${elapsed(started)})`);
    }
    if (current.status === 'done') return;
    if (current.status === 'error' || current.status === 'cancelled') {
      throw new DeployFailed(`${service.name}: deployment ${current.status}${current.errorMessage ? `: ${current.errorMessage}` : ''}; the running version keeps serving`);
    }
  }
  throw new DeployFailed(`${service.name}: no outcome after ${Math.round(options.timeoutMs / 1000)} s (last status: ${status}); check the deployment in Dokploy`);
}

/** The lines of `next` after its overlap with the end of `previous` (both are tails of the same log). */
export function newLines(previous: string[], next: string[]) {
  for (let overlap = Math.min(previous.length, next.length); overlap > 0; overlap--) {
    if (previous.slice(previous.length - overlap).every((line, i) => line === next[i])) return next.slice(overlap);
  }
  return next;
}

function elapsed(since: number) {
  return `${Math.round((Date.now() - since) / 1000)} s`;
}

let release: string | undefined;
/** The commit being released, as a note: Dokploy builds the branch head, so deploy what you pushed. */
function releaseNote() {
  if (release !== undefined) return release;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    release = `, local ${sha}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    release = '';
  }
  return release;
}

const USAGE = 'usage: npm run deploy -- <service>... | --all [--dry-run] [--skip-migrations]';

export async function main(argv: string[], env: NodeJS.ProcessEnv, write: (line: string) => void) {
  // Every line leaves without URL credentials: KOMMIT_GIT_URL may carry a token,
  // and Dokploy's build logs and errors echo it (so may DOKPLOY_URL, a migration error).
  const out = (line: string) => write(redactCredentials(line));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { all: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'skip-migrations': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help || (!values.all && !positionals.length) || (values.all && positionals.length)) {
    out(USAGE);
    out(`services: ${services.map((s) => s.name).join(', ')}`);
    return values.help ? 0 : 2;
  }
  const dryRun = values['dry-run'] === true;
  const skipMigrations = values['skip-migrations'] === true;
  let selected: Service[];
  try {
    selected = values.all ? [...services].sort((a, b) => rank(a) - rank(b)) : positionals.map(serviceByName);
  } catch (error) {
    out(`error: ${(error as Error).message}`);
    return 2;
  }
  const problems: string[] = [];
  const url = env.DOKPLOY_URL;
  // A dry run without a Dokploy to ask prints what a first deploy would do.
  if (!url && !dryRun) problems.push('DOKPLOY_URL (your Dokploy, e.g. https://dokploy.example.eu)');
  if (!env.DOKPLOY_API_KEY && url) problems.push('DOKPLOY_API_KEY (Settings → API keys in Dokploy)');
  if (!env.KOMMIT_PUBLIC_HOST && !dryRun) problems.push('KOMMIT_PUBLIC_HOST (the API host, e.g. api.kommit.eu)');
  if (!env.KOMMIT_GIT_URL && !dryRun) problems.push('KOMMIT_GIT_URL (the repository Dokploy builds from)');
  if (!env.ADMIN_DATABASE_URL && !skipMigrations && !dryRun) problems.push('ADMIN_DATABASE_URL (beheerder, to migrate before deploying; or --skip-migrations)');
  if (problems.length) {
    out(`error: set ${problems.join('; ')}`);
    return 2;
  }
  const options: DeployOptions = {
    services: selected,
    target: {
      host: env.KOMMIT_PUBLIC_HOST ?? PLACEHOLDER_TARGET.host,
      gitUrl: env.KOMMIT_GIT_URL ?? PLACEHOLDER_TARGET.gitUrl,
      gitBranch: env.KOMMIT_GIT_BRANCH ?? 'main',
    },
    dokploy: {
      url,
      apiKey: env.DOKPLOY_API_KEY ?? '',
      project: env.DOKPLOY_PROJECT ?? 'kommit',
      environment: env.DOKPLOY_ENVIRONMENT ?? 'production',
      serverId: env.DOKPLOY_SERVER_ID,
    },
    dryRun,
    adminUrl: env.ADMIN_DATABASE_URL,
    skipMigrations,
    pollMs: wholeNumberSetting(env, 'DOKPLOY_POLL_MS', 2000, { min: 1 }),
    timeoutMs: wholeNumberSetting(env, 'DOKPLOY_DEPLOY_TIMEOUT_SECONDS', 1200, { min: 1 }) * 1000,
    out,
  };
  try {
    await deploy(options);
    return 0;
  } catch (error) {
    if (error instanceof DeployFailed || error instanceof DokployError) {
      out(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** The worker first: it must know the jobs new function versions queue. */
function rank(service: Service) {
  return service.kind === 'worker' ? 0 : 1;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`));
}
