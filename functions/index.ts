import type { FunctionApp } from '../middleware/function-app.ts';
import apiKeys from './api-keys/index.ts';
import auditApp from './audit/index.ts';
import consoleApp from './console/index.tsx';
import controls from './controls/index.ts';
import decisionEvents from './decision-events/index.ts';
import helpdesk from './helpdesk/index.ts';
import hooks from './hooks/index.ts';
import identity from './identity/index.ts';
import organizations from './organizations/index.ts';
import projects from './projects/index.ts';
import search from './search/index.ts';
import supportTranscripts from './support-transcripts/index.ts';
import webhooks from './webhooks/index.ts';
import widget from './widget/index.ts';
import widgetApi from './widget-api/index.ts';
import workflows from './workflows/index.ts';

/** Every function module, by name. FUNCTIONS (a comma list) selects which a process mounts. */
export const functionRegistry: Record<string, FunctionApp> = {
  identity,
  organizations,
  projects,
  'api-keys': apiKeys,
  'decision-events': decisionEvents,
  'support-transcripts': supportTranscripts,
  workflows,
  search,
  webhooks,
  hooks,
  helpdesk,
  widget,
  'widget-api': widgetApi,
  audit: auditApp,
  controls,
  console: consoleApp,
};

export function selectFunctions(selection: string | undefined) {
  const names = selection ? selection.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(functionRegistry);
  // The admin console is not in the registry at all; asking for it gets a reason rather than "unknown".
  if (names.includes('admin')) {
    throw new Error('the admin function is never mounted in a public process: it runs as its own service on the admin role (npm run admin)');
  }
  const unknown = names.filter((name) => !(name in functionRegistry));
  if (unknown.length) {
    throw new Error(`unknown function(s) ${unknown.join(', ')}; valid: ${Object.keys(functionRegistry).join(', ')}`);
  }
  return names.map((name) => functionRegistry[name]!);
}
