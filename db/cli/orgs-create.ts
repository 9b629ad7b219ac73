import { parseArgs } from 'node:util';
import { createOrganization } from '../operators.ts';
import { runAsAdmin } from './run.ts';

const { values } = parseArgs({ options: { name: { type: 'string' }, slug: { type: 'string' } } });
if (!values.name) {
  process.stderr.write('usage: npm run orgs:create -- --name "Acme" [--slug acme]\n');
  process.exit(2);
}
const name = values.name;

await runAsAdmin(async (admin, _target, signer) => {
  const id = await createOrganization(admin, { name, slug: values.slug }, { signer });
  process.stdout.write(`${id}\n`);
  process.stderr.write(`organization "${name}" created; next: npm run keys:create -- --org ${id}\n`);
});
