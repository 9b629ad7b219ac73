import { migrateRelease } from '../release-migrate.ts';

// Applies migrations as the admin role (and only as it: see release-migrate.ts).
// Without DATABASE_URL the embedded default is started, bootstrapped and
// migrated the same way `npm start` does.
if (process.env.ADMIN_DATABASE_URL) {
  await migrateRelease(process.env.ADMIN_DATABASE_URL).then(
    () => process.stderr.write('migrations applied\n'),
    (error: Error) => {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
} else {
  const { runAsAdmin } = await import('./run.ts');
  await runAsAdmin(async () => {});
}
