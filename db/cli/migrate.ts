import { migrateRelease } from '../release-migrate.ts';
import { cliArgs } from './run.ts';

// Applies migrations as the admin role (and only as it: see release-migrate.ts).
// Without ADMIN_DATABASE_URL the embedded default is started, bootstrapped and
// migrated the same way `npm start` does; in production there is no embedded
// default, so ADMIN_DATABASE_URL is required.
cliArgs({ options: {} }, 'usage: npm run db:migrate   (with ADMIN_DATABASE_URL, or on the embedded default)');
if (process.env.ADMIN_DATABASE_URL) {
  await migrateRelease(process.env.ADMIN_DATABASE_URL).then(
    () => process.stderr.write('migrations applied\n'),
    (error: Error) => {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
} else if (process.env.NODE_ENV === 'production') {
  process.stderr.write('error: ADMIN_DATABASE_URL must be set in production (migrations run as the admin role, beheerder)\n');
  process.exitCode = 2;
} else {
  const { runAsAdmin } = await import('./run.ts');
  // runAsAdmin migrates before it runs this.
  await runAsAdmin(async () => void process.stderr.write('migrations applied\n'), 'db:migrate');
}
