import { bootstrapDatabase } from '../bootstrap.ts';
import { cliArgs } from './run.ts';

// Configured by environment only: an argument given is a mistake, not ignored.
cliArgs({ options: {} }, 'usage: npm run db:bootstrap   (with SUPERUSER_DATABASE_URL, DATABASE_URL, AUTH_DATABASE_URL and ADMIN_DATABASE_URL)');

const { SUPERUSER_DATABASE_URL, DATABASE_URL, ADMIN_DATABASE_URL, AUTH_DATABASE_URL } = process.env;
if (!SUPERUSER_DATABASE_URL || !DATABASE_URL || !ADMIN_DATABASE_URL || !AUTH_DATABASE_URL) {
  process.stderr.write(
    'db:bootstrap needs SUPERUSER_DATABASE_URL, DATABASE_URL (kommit_app), AUTH_DATABASE_URL (kommit_auth) and ADMIN_DATABASE_URL (beheerder)\n',
  );
  process.exit(2);
}
try {
  await bootstrapDatabase({
    superuserUrl: SUPERUSER_DATABASE_URL,
    appUrl: DATABASE_URL,
    adminUrl: ADMIN_DATABASE_URL,
    authUrl: AUTH_DATABASE_URL,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write('bootstrap done; next: npm run db:migrate\n');
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
