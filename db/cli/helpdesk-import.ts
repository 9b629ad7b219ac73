import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { auditOperator } from '../admin/platform-audit.ts';
import { importHelpdeskFolder, markdownFiles, type ImportResult } from '../helpdesk-import.ts';
import { assertOrganizationOpen, OPERATOR_CLI } from '../operators.ts';
import { cliArgs, orgArg, runAsAdmin, usageError } from './run.ts';

const USAGE = 'usage: npm run helpdesk:import -- --org <organization uuid> <folder of .md files>';
const { values, positionals } = cliArgs({ allowPositionals: true, options: { org: { type: 'string' } } }, USAGE);
const orgId = orgArg(values.org, USAGE);
const [dir, ...extra] = positionals;
if (!dir) usageError(USAGE, 'the folder of .md files is missing');
if (extra.length > 0) usageError(USAGE, `unexpected argument "${extra[0]}" (one folder at a time)`);
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

await runAsAdmin(async (admin, _target, signer) => {
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new Error(`${dir} is not a folder`);
  await admin.withTenant(orgId, (tx) => assertOrganizationOpen(tx, orgId));
  const total = (await markdownFiles(dir)).length;
  // The bar goes to stderr, so stdout keeps only the summary line for scripts.
  const bar = new SingleBar({ format: 'importing {bar} {value}/{total} {file}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 1000 }, undefined);
  bar.start(total, 0, { file: '' });
  let result: ImportResult;
  try {
    result = await importHelpdeskFolder(admin, orgId, dir, {
      // An operator's change to an organization's content: in its chain and the
      // platform's, like the other operator verbs. The article itself stays in
      // the organization's chain; the platform row names the file and its hash.
      record: (tx, org, entry) =>
        auditOperator(tx, { operator: OPERATOR_CLI, orgId: org, ...entry, platformData: { file: entry.data?.file, contentSha256: sha256Hex(JSON.stringify(entry.data?.after ?? null)) }, signer }),
      onFile: (file) => bar.increment({ file }),
    });
  } finally {
    // Also on failure, before runAsAdmin prints the error: the cursor comes
    // back, the error starts a line of its own, and the bar's timer no longer
    // keeps the process alive.
    bar.stop();
  }
  process.stdout.write(`created ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}\n`);
  process.stderr.write('Published articles are indexed by the worker (npm start runs it; or npm run worker).\n');
});
