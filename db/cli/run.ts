import { assertConnection, checkWorkerConnection } from '../boot-checks.ts';
import { migrateDatabase } from '../migrate.ts';
import { resolveDatabase, type DatabaseTarget } from '../runtime.ts';
import { createDatabase, type Database } from '../tenant.ts';

/**
 * Shared frame for the operator CLIs: they connect as the admin role
 * (beheerder), which is still subject to forced RLS, so tenant writes go through
 * withTenant like everywhere else. The role is checked before anything else
 * (migrations included) runs. Errors end as one line and exit code 1.
 */
export async function runAsAdmin(fn: (admin: Database, target: DatabaseTarget) => Promise<void>, who = 'this command') {
  let target: DatabaseTarget | undefined;
  let admin: Database | undefined;
  try {
    target = await resolveDatabase({ log: (line) => process.stderr.write(`${line}\n`), migrate: false });
    if (!target.adminUrl) throw new Error('ADMIN_DATABASE_URL is not set');
    admin = createDatabase(target.adminUrl, { max: 2, ca: target.ca, applicationName: 'kommit-cli' });
    await assertConnection(checkWorkerConnection(admin.sql, target.roles, who));
    if (process.env.NODE_ENV !== 'production') await migrateDatabase(target.adminUrl, target.ca);
    await fn(admin, target);
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await admin?.close();
    await target?.stop();
  }
}
