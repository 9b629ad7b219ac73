import { bootstrapDatabase } from '../bootstrap.ts';
import { cliArgs, usageError } from './run.ts';

const USAGE = 'usage: npm run db:bootstrap   (with SUPERUSER_DATABASE_URL, DATABASE_URL (kommit_app), AUTH_DATABASE_URL (kommit_auth) and ADMIN_DATABASE_URL (beheerder))';
// Configured by environment only: an argument given is a mistake, not ignored.
cliArgs({ options: {} }, USAGE);

// Each URL it needs, and which are missing (unset or empty), to name them all in one line.
const missing: string[] = [];
const url = (name: string) => process.env[name] || (missing.push(name), '');
const urls = { superuserUrl: url('SUPERUSER_DATABASE_URL'), appUrl: url('DATABASE_URL'), authUrl: url('AUTH_DATABASE_URL'), adminUrl: url('ADMIN_DATABASE_URL') };
if (missing.length > 0) usageError(USAGE, `${new Intl.ListFormat('en').format(missing)} ${missing.length === 1 ? 'is' : 'are'} not set`);
try {
  await bootstrapDatabase({ ...urls, log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write('bootstrap done; next: npm run db:migrate\n');
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
