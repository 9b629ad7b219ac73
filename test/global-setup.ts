import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestPostgres } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: TestPostgres;
  }
}

// Prepared once per run: starting and migrating a server costs about a second,
// cloning the migrated template costs a few milliseconds per test file.
export default async function setup(project: TestProject) {
  const { stop, pause: _pause, resume: _resume, ...postgres } = await startTestCluster();
  project.provide('postgres', postgres);
  return stop;
}
