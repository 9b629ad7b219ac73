import { createOrganization, slugProblem } from '../operators.ts';
import { cliArgs, nameArg, runAsAdmin, usageError } from './run.ts';

const USAGE = 'usage: npm run orgs:create -- --name "Acme" [--slug acme]';
const { values } = cliArgs({ options: { name: { type: 'string' }, slug: { type: 'string' } } }, USAGE);
if (values.name === undefined) usageError(USAGE, '--name is required');
const name = nameArg(values.name, USAGE);
// A malformed slug is an argument mistake, refused before any database starts; a taken one is only known there.
const malformed = slugProblem(values.slug);
if (malformed) usageError(USAGE, `--slug ${malformed}`);

await runAsAdmin(async (admin, _target, signer) => {
  const id = await createOrganization(admin, { name, slug: values.slug }, { signer });
  process.stdout.write(`${id}\n`);
  process.stderr.write(`organization "${name}" created; next: npm run keys:create -- --org ${id}\n`);
});
