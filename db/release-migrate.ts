import { checkWorkerConnection } from './boot-checks.ts';
import { connect } from './connection.ts';
import { migrateDatabase } from './migrate.ts';
import { roleNamesFromEnv, type RoleNames } from './roles.ts';

/**
 * The release step: applies pending migrations once, as the schema owner,
 * before new function versions start (deploys run it ahead of any
 * application; the single-node compose file runs it as a one-shot service).
 * It refuses any other role, a superuser or BYPASSRLS role, and a connection without TLS, so a
 * request-serving credential can never be the one migrating.
 */
export async function migrateRelease(adminUrl: string, options: { ca?: string; roles?: RoleNames } = {}) {
  const roles = options.roles ?? roleNamesFromEnv();
  const probe = connect(adminUrl, { max: 1, ca: options.ca, applicationName: 'kommit-migrate' });
  try {
    // The worker's check: the owner role, no superuser, no BYPASSRLS, TLS.
    const problems = await checkWorkerConnection(probe, roles, 'migrations');
    if (problems.length) throw new Error(`refusing to migrate: ${problems.join('; ')}`);
  } finally {
    await probe.end();
  }
  await migrateDatabase(adminUrl, options.ca);
}
