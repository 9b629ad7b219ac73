import { createApiKey } from '../operators.ts';
import { cliArgs, nameArg, orgArg, runAsAdmin } from './run.ts';

const USAGE = 'usage: npm run keys:create -- --org <organization uuid> [--name "ci"]';
const { values } = cliArgs({ options: { org: { type: 'string' }, name: { type: 'string' } } }, USAGE);
const orgId = orgArg(values.org, USAGE);
const name = nameArg(values.name, USAGE);

await runAsAdmin(async (admin, _target, signer) => {
  const { key } = await createApiKey(admin, orgId, name, { signer });
  process.stdout.write(`${key}\n`);
  process.stderr.write('This is the only time the key is shown; store it now.\n');
});
