import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { connect } from './connection.ts';
import { installJobQueue } from './jobs/worker.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations', import.meta.url));

/** Applies pending migrations as the schema owner (beheerder), never as kommit_app. */
export async function migrateDatabase(adminUrl: string, ca?: string) {
  // First the job queue's schema: our migrations define functions that call into it.
  await installJobQueue(adminUrl, ca);
  const sql = connect(adminUrl, { max: 1, ca, applicationName: 'kommit-migrate' });
  try {
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql.end();
  }
}
