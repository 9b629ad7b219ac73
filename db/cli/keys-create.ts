import { createApiKey } from '../operators.ts';
import { cliArgs, runAsAdmin, usageError } from './run.ts';
import { isUuid } from '../tenant.ts';

const USAGE = 'usage: npm run keys:create -- --org <organization uuid> [--name "ci"]';
const { values } = cliArgs({ options: { org: { type: 'string' }, name: { type: 'string' } } }, USAGE);
if (!values.org || !isUuid(values.org)) usageError(USAGE);
const orgId = values.org;

await runAsAdmin(async (admin, _target, signer) => {
  const { key } = await createApiKey(admin, orgId, values.name, { signer });
  process.stdout.write(`${key}\n`);
  process.stderr.write('This is the only time the key is shown; store it now.\n');
});
