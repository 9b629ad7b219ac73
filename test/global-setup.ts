import type { TestProject } from 'vitest/node';
import { offersPgvector, startTestCluster, type TestPostgres } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: TestPostgres;
  }
}

// Prepared once per run: starting and migrating a server costs about a second,
// cloning the migrated template costs a few milliseconds per test file.
export default async function setup(project: TestProject) {
  const { stop, pause: _pause, resume: _resume, ...postgres } = await startTestCluster();
  if (process.env.KOMMIT_REQUIRE_PGVECTOR === '1' && !(await offersPgvector(postgres))) {
    await stop();
    throw new Error('KOMMIT_REQUIRE_PGVECTOR=1 but the test Postgres has no pgvector: see the output of db/pgvector/install.sh (npm install)');
  }
  project.provide('postgres', postgres);
  return stop;
}
