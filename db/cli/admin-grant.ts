import { hostname, userInfo } from 'node:os';
import { setOperator } from '../admin/grants.ts';
import { cliArgs, runAsAdmin, usageError } from './run.ts';

const USAGE = 'usage: npm run admin:grant -- <email> [--revoke]   (with ADMIN_DATABASE_URL, or on the embedded default)';
const { values, positionals } = cliArgs({ allowPositionals: true, options: { revoke: { type: 'boolean', default: false } } }, USAGE);
const [email, ...extra] = positionals;
if (!email) usageError(USAGE, "the user's email is missing");
if (extra.length > 0) usageError(USAGE, `unexpected argument "${extra[0]}" (one email at a time)`);

// Operator rights are the admin role's to give: runAsAdmin refuses any other connection up front.
await runAsAdmin(async (admin, _target, signer) => {
  // Who ran it, as far as this machine knows: the platform chain records it.
  const grantedBy = `admin:grant by ${userInfo().username}@${hostname()}`;
  const { changed, setupToken } = await setOperator(admin, email, !values.revoke, { grantedBy, signer });
  const verb = values.revoke ? (changed ? 'is no longer' : 'was not') : changed ? 'is now' : 'already was';
  process.stderr.write(`${email} ${verb} a platform operator\n`);
  if (setupToken) {
    process.stderr.write('One-time set-up code for their authenticator (valid 24 hours; hand it over apart from the password):\n');
    process.stdout.write(`${setupToken}\n`);
    process.stderr.write('They sign in at /admin, enter it, and set up TOTP. Running this again issues a new code.\n');
  }
}, 'admin:grant');
