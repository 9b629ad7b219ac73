import { parseArgs } from 'node:util';
import { generateApiKey } from '../../auth/api-keys.ts';
import { apiKeys } from '../schema/api-keys.ts';
import { organizations } from '../schema/organizations.ts';
import { runAsAdmin } from './run.ts';

const { values } = parseArgs({ options: { org: { type: 'string' }, name: { type: 'string' } } });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!values.org || !UUID.test(values.org)) {
  process.stderr.write('usage: npm run keys:create -- --org <organization uuid> [--name "ci"]\n');
  process.exit(2);
}
const orgId = values.org;

await runAsAdmin(async (admin) => {
  const key = generateApiKey();
  await admin.withTenant(orgId, async (tx) => {
    const [org] = await tx.select({ id: organizations.id }).from(organizations);
    if (!org) throw new Error(`no organization ${orgId}`);
    await tx.insert(apiKeys).values({ orgId, name: values.name ?? 'cli', prefix: key.prefix, keyHash: key.hash });
  });
  process.stdout.write(`${key.key}\n`);
  process.stderr.write('This is the only time the key is shown; store it now.\n');
});
