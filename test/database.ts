import { inject } from 'vitest';
import { cloneDatabase, type TestDatabase } from './cluster.ts';

export type { TestDatabase };

/** A fresh database cloned from the run's migrated template, for one test file. */
export function createTestDatabase(options: { appPoolMax?: number } = {}): Promise<TestDatabase> {
  return cloneDatabase(inject('postgres'), options);
}
