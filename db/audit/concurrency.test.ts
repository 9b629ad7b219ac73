import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { createOrganization } from '../operators.ts';
import { createDatabase } from '../tenant.ts';
import { emitAudit } from './emit.ts';
import { readChain } from './read.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const actor = { type: 'system' as const, id: 'load' };

/** 10,000 appends from 50 concurrent connections spread over the given organizations. */
async function appendConcurrently(orgs: string[], total = 10_000, connections = 50) {
  const pool = createDatabase(db.appUrl, { ca: db.ca, max: connections });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let i = next++; i < total; i = next++) {
          const org = orgs[i % orgs.length]!;
          await pool.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'load.append', data: { i } }));
        }
      }),
    );
  } finally {
    await pool.close();
  }
}

describe('concurrent appends', () => {
  it('10,000 into one organization from 50 connections: no fork, no gap, the chain verifies', { timeout: 180_000 }, async () => {
    const org = await createOrganization(db.admin, { name: 'One busy org' });
    await appendConcurrently([org]);
    const report = await db.app.withTenant(org, (tx) => readChain(tx, org));
    // Plus the organization.create row the operator verb wrote first.
    expect(report).toMatchObject({ ok: true, rowsChecked: 10_001, head: { seq: 10_001 } });
  });

  it('10,000 into 20 organizations from 50 connections: every chain whole', { timeout: 180_000 }, async () => {
    const orgs = await Promise.all(Array.from({ length: 20 }, (_, i) => createOrganization(db.admin, { name: `Org ${i}` })));
    await appendConcurrently(orgs);
    for (const org of orgs) {
      const report = await db.app.withTenant(org, (tx) => readChain(tx, org));
      expect(report).toMatchObject({ ok: true, rowsChecked: 501, head: { seq: 501 } });
    }
  });

  it('a process killed in the middle of appends leaves a chain that verifies', { timeout: 60_000 }, async () => {
    const org = await createOrganization(db.admin, { name: 'Killed mid-append' });
    const script = `
      const { createDatabase } = await import('./db/tenant.ts');
      const { emitAudit } = await import('./db/audit/emit.ts');
      const pool = createDatabase(process.env.APP_URL, { ca: process.env.CA, max: 8 });
      let n = 0;
      let said = false;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (;;) {
          await pool.withTenant(process.env.ORG, (tx) => emitAudit(tx, { orgId: process.env.ORG, actor: { type: 'system', id: 'doomed' } }, { action: 'doomed.append', data: { n: n++ } }));
          if (n >= 50 && !said) { said = true; process.stdout.write('appending\\n'); }
        }
      }));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, APP_URL: db.appUrl, CA: db.ca, ORG: org },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));

    const report = await db.app.withTenant(org, (tx) => readChain(tx, org));
    expect(report.ok).toBe(true);
    expect(report.rowsChecked).toBeGreaterThan(50);
    // And the chain takes the next append as if nothing happened.
    await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'after.kill' }));
    expect(await db.app.withTenant(org, (tx) => readChain(tx, org))).toMatchObject({ ok: true, rowsChecked: report.rowsChecked + 1 });
  });
});
