import type { FunctionApp } from '../middleware/function-app.ts';
import { functionLoaders, selectFunctionNames } from './registry.ts';

/**
 * Every function module, by name, loaded: for tests and tools that look at
 * them all. A server process loads only the ones it mounts (registry.ts,
 * loadFunctions).
 */
export const functionRegistry: Record<string, FunctionApp> = {};
for (const [name, load] of Object.entries(functionLoaders)) functionRegistry[name] = (await load()).default;

/** The selected function modules, already loaded (see selectFunctionNames). */
export function selectFunctions(selection: string | undefined) {
  return selectFunctionNames(selection).map((name) => functionRegistry[name]!);
}
