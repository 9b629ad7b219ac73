import { parseArgs } from 'node:util';
import { createApiKey } from '../operators.ts';
import { runAsAdmin } from './run.ts';
import { isUuid } from '../tenant.ts';

const { values } = parseArgs({ options: { org: { type: 'string' }, name: { type: 'string' } } });
if (!values.org || !isUuid(values.org)) {
  process.stderr.write('usage: npm run keys:create -- --org <organization uuid> [--name "ci"]\n');
  process.exit(2);
}
const orgId = values.org;

await runAsAdmin(async (admin, _target, signer) => {
  const { key } = await createApiKey(admin, orgId, values.name, { signer });
  process.stdout.write(`${key}\n`);
  process.stderr.write('This is the only time the key is shown; store it now.\n');
});
