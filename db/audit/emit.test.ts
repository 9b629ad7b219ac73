import { sql } from 'drizzle-orm';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { postgresError } from '../../test/expect.ts';
import { createOrganization } from '../operators.ts';
import { auditChainHeads, auditCheckpoints, auditLog } from '../schema/audit.ts';
import { createDatabase } from '../tenant.ts';
import { readChain } from './read.ts';
import { signerFromPem, verifierKey, verifyCheckpoint } from './checkpoint.ts';
import { emitAudit } from './emit.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const actor = { type: 'system' as const, id: 'test' };

describe('emitAudit', () => {
  it('chains rows per organization and verifies', async () => {
    const org = await createOrganization(db.admin, { name: 'Chain' });
    for (let i = 0; i < 5; i++) {
      await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'thing.happen', data: { i, password: 'x' } }));
    }
    const rows = await db.app.withTenant(org, (tx) => tx.select().from(auditLog).orderBy(auditLog.seq));
    // seq 1 is the organization's creation by the operator verb.
    expect(rows.map((r) => [r.seq, r.action])).toEqual([[1, 'organization.create'], ...[2, 3, 4, 5, 6].map((seq) => [seq, 'thing.happen'])]);
    expect(rows[0]!.prevHash.equals(Buffer.alloc(32))).toBe(true);
    expect(rows[1]!.prevHash.equals(rows[0]!.hash)).toBe(true);
    expect(rows[3]!.data).toEqual({ i: 2, password: '[redacted]' });
    expect(rows[0]!.occurredAt).toMatch(/:\d\d(\.\d{1,6})?Z$/);
    const result = await db.app.withTenant(org, (tx) => readChain(tx, org));
    expect(result).toMatchObject({ ok: true, rowsChecked: 6, head: { seq: 6 } });
  });

  it('redacts secret fields however they are spelt, keeping words that merely contain "pass" or "key"', async () => {
    const org = await createOrganization(db.admin, { name: 'Redacted' });
    const secrets = ['api_key', 'apiKey', 'X-Api-Key', 'private_key', 'accessKey', 'credentials', 'signature', 'Authorization', 'bearerToken', 'passwd', 'key', 'clientSecret'];
    const kept = { passages: 2, bypass: true, keyboard: 'qwerty', monkey: 'ok', name: 'n' };
    const data = { ...Object.fromEntries(secrets.map((k) => [k, 'sensitive'])), ...kept, nested: [{ api_key: 'sensitive', passages: 1 }] };
    await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'thing.happen', data }));
    const [row] = await db.app.withTenant(org, (tx) => tx.select().from(auditLog).where(sql`action = 'thing.happen'`));
    expect(row!.data).toEqual({ ...Object.fromEntries(secrets.map((k) => [k, '[redacted]'])), ...kept, nested: [{ api_key: '[redacted]', passages: 1 }] });
  });

  it('stores lone surrogates as postgres.js stores text (U+FFFD), in the data and the named fields, and the chain verifies', async () => {
    const org = await createOrganization(db.admin, { name: 'Surrogates' });
    await db.app.withTenant(org, (tx) =>
      emitAudit(tx, { orgId: org, actor: { type: 'widget_visitor', id: 'visitor\ud800' }, requestId: 'req\udc00' }, { action: 'thing.happen', targetId: 't\ud800', data: { name: 'a\ud800b', ['k\udfff']: ['\ud83d'] } }),
    );
    const [row] = await db.app.withTenant(org, (tx) => tx.select().from(auditLog).where(sql`action = 'thing.happen'`));
    expect(row).toMatchObject({ actorId: 'visitor\ufffd', requestId: 'req\ufffd', targetId: 't\ufffd', data: { name: 'a\ufffdb', ['k\ufffd']: ['\ufffd'] } });
    expect(await db.app.withTenant(org, (tx) => readChain(tx, org))).toMatchObject({ ok: true, rowsChecked: 2 });
  });

  it('verifies a chain in batches of rows, one statement each, finding breaks in any batch', async () => {
    const org = await createOrganization(db.admin, { name: 'Batched' });
    for (let i = 0; i < 9; i++) await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'thing.happen', data: { i } }));
    for (const batchRows of [1, 3, 4, 10, 250_000]) {
      expect(await db.app.withTenant(org, (tx) => readChain(tx, org, { batchRows })), String(batchRows)).toMatchObject({ ok: true, rowsChecked: 10, head: { seq: 10 } });
    }
    await db.admin.withTenant(org, async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
      await tx.execute(sql`update audit_log set data = '{"i":99}' where seq = 8`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    });
    for (const batchRows of [1, 3, 4, 10]) {
      expect(await db.app.withTenant(org, (tx) => readChain(tx, org, { batchRows })), String(batchRows)).toMatchObject({ ok: false, firstBreak: { kind: 'altered', seq: 8 } });
    }
  });

  it('reads a row forged below seq 1 too: the first batch has no lower bound', async () => {
    const org = await createOrganization(db.admin, { name: 'Forged at zero' });
    await db.admin.withTenant(org, async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
      await tx.execute(sql`
        insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, data, prev_hash, hash)
        select org_id, 0, occurred_at, actor_type, actor_id, 'forged.before', data, sha256('forged'::bytea), hash from audit_log where seq = 1`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    });
    for (const batchRows of [1, 250_000]) {
      expect(await db.app.withTenant(org, (tx) => readChain(tx, org, { batchRows })), String(batchRows)).toMatchObject({ ok: false });
    }
  });

  it('rolls back with the change: the change and its audit row commit together or not at all', async () => {
    const org = await createOrganization(db.admin, { name: 'Atomic' });
    await expect(
      db.app.withTenant(org, async (tx) => {
        await emitAudit(tx, { orgId: org, actor }, { action: 'doomed' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await db.app.withTenant(org, (tx) => tx.select().from(auditLog))).map((r) => r.action)).toEqual(['organization.create']);
  });

  it("opens an organization's chain with the organization, whoever inserts it, and leaves the inserter's tenant context alone", async () => {
    const other = await createOrganization(db.admin, { name: 'Context holder' });
    const org = randomUUID();
    // As Better Auth inserts one: its own role, no audit row written yet.
    const context = await db.identity.withTenant(other, async (tx) => {
      await tx.execute(sql`insert into organizations (id, name, slug) values (${org}, 'Fresh', ${`fresh-${org}`})`);
      return tx.execute<{ current: string }>(sql`select current_setting('app.current_org_id') as current`);
    });
    expect(context).toEqual([{ current: other }]);
    const [head] = await db.app.withTenant(org, (tx) => tx.select().from(auditChainHeads));
    expect(head).toMatchObject({ orgId: org, seq: 0 });
    expect(head!.headHash.equals(Buffer.alloc(32))).toBe(true);
    // So the first append chains from the genesis hash, sent ahead or not.
    const first = await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'first.thing' }));
    expect(first.seq).toBe(1);
    expect(await db.app.withTenant(org, (tx) => readChain(tx, org))).toMatchObject({ ok: true, rowsChecked: 1 });
  });

  it('fails closed when the chain head is missing instead of starting a new chain', async () => {
    const org = await createOrganization(db.admin, { name: 'Headless' });
    await db.admin.withTenant(org, (tx) => tx.delete(auditChainHeads));
    await expect(db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'lost' }))).rejects.toThrow('found no chain head');
    expect((await db.app.withTenant(org, (tx) => tx.select().from(auditLog))).map((r) => r.action)).toEqual(['organization.create']);
  });

  it('refuses UPDATE and DELETE of audit rows, for the request role and the owner alike', async () => {
    const org = await createOrganization(db.admin, { name: 'Append only' });
    await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'kept' }));
    for (const database of [db.app, db.admin]) {
      for (const statement of [sql`update audit_log set action = 'changed'`, sql`delete from audit_log`]) {
        const error = await database.withTenant(org, (tx) => tx.execute(statement)).then(() => undefined, (e: unknown) => e);
        expect(postgresError(error).code).toBe('42501');
      }
    }
    expect(await db.app.withTenant(org, (tx) => tx.select().from(auditLog))).toHaveLength(2);
  });

  it('signs checkpoints every N appends that verify against the public key', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = signerFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { keyName: 'kommit-test', everyAppends: 3, everyMinutes: 60 });
    const org = await createOrganization(db.admin, { name: 'Signed' });
    for (let i = 0; i < 7; i++) await db.app.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor, signer }, { action: 'x' }));
    const checkpoints = await db.app.withTenant(org, (tx) => tx.select().from(auditCheckpoints).orderBy(auditCheckpoints.seq));
    // seq 1 (the operator's organization.create) had no signer; the first signed
    // append checkpoints (none yet), then every third.
    expect(checkpoints.map((c) => c.seq)).toEqual([2, 5, 8]);
    const verified = verifyCheckpoint(checkpoints[2]!.note, verifierKey(signer));
    expect(verified).toMatchObject({ orgId: org, seq: 8, hash: checkpoints[2]!.headHash.toString('hex') });
    expect(() => verifyCheckpoint(checkpoints[2]!.note.replace(/\n8\n/, '\n9\n'), verifierKey(signer))).toThrow(/no valid signature/);
  });

  it('verifies without false breaks while appends keep committing', async () => {
    const org = await createOrganization(db.admin, { name: 'Moving target' });
    const pool = createDatabase(db.appUrl, { ca: db.ca, max: 4 });
    try {
      let appending = true;
      const writer = (async () => {
        while (appending) await pool.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'moving' }));
      })();
      for (let i = 0; i < 10; i++) {
        const report = await db.app.withTenant(org, (tx) => readChain(tx, org));
        expect(report.ok, JSON.stringify(report.firstBreak)).toBe(true);
      }
      appending = false;
      await writer;
    } finally {
      await pool.close();
    }
  });

  it('never forks under concurrent appends, and organizations do not wait on each other', async () => {
    const pool = createDatabase(db.appUrl, { ca: db.ca, max: 20 });
    try {
      const orgs = await Promise.all(Array.from({ length: 4 }, (_, i) => createOrganization(db.admin, { name: `Busy ${i}` })));
      await Promise.all(
        Array.from({ length: 400 }, (_, i) => {
          const org = orgs[i % orgs.length]!;
          return pool.withTenant(org, (tx) => emitAudit(tx, { orgId: org, actor }, { action: 'busy', data: { i } }));
        }),
      );
      for (const org of orgs) {
        const result = await db.app.withTenant(org, (tx) => readChain(tx, org));
        expect(result).toMatchObject({ ok: true, rowsChecked: 101, head: { seq: 101 } });
      }
    } finally {
      await pool.close();
    }
  });
});
