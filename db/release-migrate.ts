import { connect } from './connection.ts';
import { migrateDatabase } from './migrate.ts';
import { roleNamesFromEnv, type RoleNames } from './roles.ts';

/**
 * The release step: applies pending migrations once, as the schema owner,
 * before new function versions start (deploys run it ahead of any
 * application; the single-node compose file runs it as a one-shot service).
 * It refuses any other role, a superuser, and a connection without TLS, so a
 * request-serving credential can never be the one migrating.
 */
export async function migrateRelease(adminUrl: string, options: { ca?: string; roles?: RoleNames } = {}) {
  const roles = options.roles ?? roleNamesFromEnv();
  const probe = connect(adminUrl, { max: 1, ca: options.ca, applicationName: 'kommit-migrate' });
  try {
    const [me] = await probe<{ rolname: string; rolsuper: boolean; ssl: boolean | null }[]>`
      select r.rolname, r.rolsuper, (select s.ssl from pg_stat_ssl s where s.pid = pg_backend_pid()) as ssl
      from pg_roles r where r.rolname = current_user`;
    const problems: string[] = [];
    if (me?.rolname !== roles.admin) problems.push(`migrations connect as "${roles.admin}", not "${me?.rolname}"`);
    if (me?.rolsuper) problems.push(`role "${me.rolname}" is a superuser`);
    if (!me?.ssl) problems.push('the database connection is not TLS');
    if (problems.length) throw new Error(`refusing to migrate: ${problems.join('; ')}`);
  } finally {
    await probe.end();
  }
  await migrateDatabase(adminUrl, options.ca);
}
