import type { FunctionApp } from '../middleware/function-app.ts';

/**
 * Every function module, by name, as a loader. FUNCTIONS (a comma list)
 * selects which a process mounts, and only those are loaded: a process serving
 * one function does not carry the others' code, nor the packages only they use
 * (the production build splits each into its own chunk), which is most of what
 * a fresh process holds. functions/index.ts loads them all.
 */
export const functionLoaders: Record<string, () => Promise<{ default: FunctionApp }>> = {
  identity: () => import('./identity/index.ts'),
  organizations: () => import('./organizations/index.ts'),
  projects: () => import('./projects/index.ts'),
  'api-keys': () => import('./api-keys/index.ts'),
  'decision-events': () => import('./decision-events/index.ts'),
  'support-transcripts': () => import('./support-transcripts/index.ts'),
  workflows: () => import('./workflows/index.ts'),
  search: () => import('./search/index.ts'),
  webhooks: () => import('./webhooks/index.ts'),
  hooks: () => import('./hooks/index.ts'),
  helpdesk: () => import('./helpdesk/index.ts'),
  widget: () => import('./widget/index.ts'),
  'widget-api': () => import('./widget-api/index.ts'),
  audit: () => import('./audit/index.ts'),
  controls: () => import('./controls/index.ts'),
  console: () => import('./console/index.tsx'),
};

/** The names FUNCTIONS selects (all when unset), in registry order for all; refuses unknown names and the admin console. */
export function selectFunctionNames(selection: string | undefined) {
  const names = selection ? selection.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(functionLoaders);
  // The admin console is not in the registry at all; asking for it gets a reason rather than "unknown".
  if (names.includes('admin')) {
    throw new Error('the admin function is never mounted in a public process: it runs as its own service on the admin role (npm run admin)');
  }
  const unknown = names.filter((name) => !(name in functionLoaders));
  if (unknown.length) {
    throw new Error(`unknown function(s) ${unknown.join(', ')}; valid: ${Object.keys(functionLoaders).join(', ')}`);
  }
  return names;
}

/** Loads the selected function modules (one after the other, in the order given). */
export async function loadFunctions(selection: string | undefined) {
  const apps: FunctionApp[] = [];
  for (const name of selectFunctionNames(selection)) apps.push((await functionLoaders[name]!()).default);
  return apps;
}
