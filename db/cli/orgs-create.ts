import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { organizations } from '../schema/organizations.ts';
import { runAsAdmin } from './run.ts';

const { values } = parseArgs({ options: { name: { type: 'string' }, slug: { type: 'string' } } });
if (!values.name) {
  process.stderr.write('usage: npm run orgs:create -- --name "Acme" [--slug acme]\n');
  process.exit(2);
}
const name = values.name;
const slug = values.slug ?? name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

await runAsAdmin(async (admin) => {
  const id = randomUUID();
  // The organization row is itself behind RLS (id = tenant), so it is created
  // inside its own tenant context.
  await admin.withTenant(id, (tx) => tx.insert(organizations).values({ id, name, slug }));
  process.stdout.write(`${id}\n`);
  process.stderr.write(`organization "${name}" created; next: npm run keys:create -- --org ${id}\n`);
});
