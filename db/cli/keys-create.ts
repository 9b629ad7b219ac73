import { parseArgs } from 'node:util';
import { createApiKey } from '../operators.ts';
import { runAsAdmin } from './run.ts';

const { values } = parseArgs({ options: { org: { type: 'string' }, name: { type: 'string' } } });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!values.org || !UUID.test(values.org)) {
  process.stderr.write('usage: npm run keys:create -- --org <organization uuid> [--name "ci"]\n');
  process.exit(2);
}
const orgId = values.org;

await runAsAdmin(async (admin) => {
  const { key } = await createApiKey(admin, orgId, values.name);
  process.stdout.write(`${key}\n`);
  process.stderr.write('This is the only time the key is shown; store it now.\n');
});
