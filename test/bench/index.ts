import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchApi } from './api.ts';
import { benchAudit } from './audit.ts';
import { benchAuth } from './auth.ts';
import { benchOrgDelete } from './org-delete.ts';
import { benchSearch } from './search.ts';
import { benchSoak } from './soak.ts';
import { benchWebhooks } from './webhooks.ts';
import { benchWidget } from './widget.ts';

/**
 * `npm run bench -- <name> [--seconds N]`. Each benchmark starts its own
 * throwaway Postgres, measures a baseline and the subject in the same run, and
 * prints ratios; none of this runs in the test suite.
 */
const benchmarks: Record<string, (options: { seconds: number; readOnly?: boolean }) => Promise<void>> = {
  auth: benchAuth,
  audit: benchAudit,
  api: benchApi,
  'org-delete': benchOrgDelete,
  webhooks: benchWebhooks,
  search: benchSearch,
  soak: benchSoak,
  widget: benchWidget,
};

const { positionals, values } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string', default: '10' }, 'read-only': { type: 'boolean', default: false } } });
const names = positionals.length ? positionals : Object.keys(benchmarks);
const unknown = names.filter((name) => !benchmarks[name]);
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s) ${unknown.join(', ')}; available: ${Object.keys(benchmarks).join(', ')}\n`);
  process.exit(2);
}
// Benchmarks run the production build, as deployed.
execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
for (const name of names) await benchmarks[name]!({ seconds: Number(values.seconds), readOnly: values['read-only'] });
