import { parseArgs } from 'node:util';
import { setOperator } from '../admin/operators.ts';
import { runAsAdmin } from './run.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { revoke: { type: 'boolean', default: false } } });
const email = positionals[0];
if (!email || positionals.length > 1) {
  process.stderr.write('usage: npm run admin:grant -- <email> [--revoke]   (with ADMIN_DATABASE_URL, or on the embedded default)\n');
  process.exit(2);
}

// Operator rights are the admin role's to give: runAsAdmin refuses any other connection up front.
await runAsAdmin(async (admin) => {
  const { changed } = await setOperator(admin, email, !values.revoke);
  const verb = values.revoke ? (changed ? 'is no longer' : 'was not') : changed ? 'is now' : 'already was';
  process.stderr.write(`${email} ${verb} a platform operator${!values.revoke && changed ? '; they sign in at /admin and set up an authenticator app' : ''}\n`);
}, 'admin:grant');
