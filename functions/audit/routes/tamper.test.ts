import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHash } from '../../../db/audit/chain.ts';
import type { RecordRow } from '../../../db/audit/read.ts';
import { verifyExportFile } from '../../../db/audit/cli.ts';
import type { Tx } from '../../../db/tenant.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/database.ts';
import { postgresError } from '../../../test/expect.ts';
import { startTestServer, type TestServer } from '../../../test/server.ts';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';

let db: TestDatabase;
let server: TestServer;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db, { checkpointEvery: 5 });
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-tamper-'));
});
afterAll(async () => {
  await server.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * An organization with a 14-row chain: organization.create (signed: checkpoint
 * at 1), api_key.create by the operator verb, then 12 project.create
 * (checkpoints at 6 and 11).
 */
async function chainOf13() {
  const tenant = await createTenant(db, server, `Tamper ${Math.random().toString(36).slice(2, 6)}`);
  for (let i = 0; i < 12; i++) {
    const response = await fetch(`${server.url}/v1/projects`, { method: 'POST', headers: tenant.headers, body: JSON.stringify({ name: `p${i}` }) });
    expect(response.status).toBe(201);
  }
  const verify = await api(tenant, '/v1/audit-log/verify');
  expect(verify).toMatchObject({ ok: true, rowsChecked: 14, head: { seq: 14 } });
  return tenant;
}

async function api(tenant: TestTenant, pathname: string) {
  const response = await fetch(server.url + pathname, { headers: tenant.headers });
  expect(response.status).toBe(200);
  return response.headers.get('content-type')?.includes('json') && !pathname.includes('export') ? response.json() : response.text();
}

/** Tampers as the owner role would, directly in SQL: it must switch the append-only trigger off first. */
async function tamper(tenant: TestTenant, fn: (tx: Tx) => Promise<unknown>) {
  await db.admin.withTenant(tenant.orgId, async (tx) => {
    await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
    await fn(tx);
    await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
  });
}

async function offline(tenant: TestTenant, checkpoint?: { note: string; publicKey: string }) {
  const file = path.join(dir, `${tenant.orgId}-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(file, (await api(tenant, '/v1/audit-log/export?format=jsonl')) as string);
  const options = checkpoint ? { checkpoint: checkpoint.note, publicKey: checkpoint.publicKey } : {};
  const verdict = await verifyExportFile(file, { ...options, threads: 0 });
  // The same verdict with the rows checked on worker threads, a row or two at a time.
  expect(await verifyExportFile(file, { ...options, threads: 2, pieceBytes: 512 })).toEqual(verdict);
  return verdict;
}

async function rowAt(tx: Tx, seq: number) {
  const [row] = await tx.execute<RecordRow>(sql`
    select org_id::text, seq::int8 as seq, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
           actor_type, actor_id, action, target_type, target_id, request_id, ip, data,
           encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash
    from audit_log where seq = ${seq}`);
  return { ...row!, seq: Number(row!.seq) };
}

describe('tampering with the audit log is detected, by the API and offline', () => {
  it('a row altered', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, (tx) => tx.execute(sql`update audit_log set data = '{"name":"nothing to see"}' where seq = 7`));
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'altered', seq: 7 } });
    // The export now also contains the audit.export row (seq 15); the break comes first.
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED: first break at seq 7 \(altered\)/);
  });

  it('a row moved to the same moment BC (which a four-digit year alone would not show)', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, (tx) => tx.execute(sql`update audit_log set occurred_at = (occurred_at::text || ' BC')::timestamptz where seq = 7`));
    const [moved] = await db.admin.withTenant(tenant.orgId, (tx) => tx.execute<{ bc: boolean }>(sql`select occurred_at < '0001-01-01 00:00:00+00' as bc from audit_log where seq = 7`));
    expect(moved).toEqual({ bc: true });
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'altered', seq: 7 } });
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED: first break at seq 7 \(altered\)/);
  });

  it('a row deleted from the middle', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, (tx) => tx.execute(sql`delete from audit_log where seq = 7`));
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'missing', seq: 7 } });
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED: first break at seq 7 \(missing\)/);
  });

  it('a row forged below seq 1', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, (tx) =>
      tx.execute(sql`
        insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, data, prev_hash, hash)
        select org_id, 0, occurred_at, actor_type, actor_id, 'forged.before', data, sha256('forged'::bytea), hash from audit_log where seq = 1`),
    );
    expect((await api(tenant, '/v1/audit-log/verify')).ok).toBe(false);
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED/);
  });

  it('two rows swapped', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, async (tx) => {
      await tx.execute(sql`update audit_log set seq = -7 where seq = 7`);
      await tx.execute(sql`update audit_log set seq = 7 where seq = 8`);
      await tx.execute(sql`update audit_log set seq = 8 where seq = -7`);
    });
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'reordered', seq: 7 } });
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED: first break at seq 7 \(reordered\)/);
  });

  it('a forged row inserted, even one with a correctly computed hash', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, async (tx) => {
      const seven = await rowAt(tx, 7);
      await tx.execute(sql`update audit_log set seq = seq + 1000 where seq > 7`);
      await tx.execute(sql`update audit_log set seq = seq - 999 where seq > 1000`);
      // Claiming row 7 as predecessor is refused outright: unique(org_id, prev_hash)
      // keeps a second row from hanging off the same link. So the forger picks another.
      const forged = { ...seven, seq: 8, action: 'project.delete', data: { forged: true }, prev_hash: 'ab'.repeat(32) };
      const hash = recordHash(forged);
      const fork = await tx
        .transaction((savepoint) => savepoint.execute(sql`insert into audit_log select org_id, 99, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash, hash from audit_log where seq = 9`))
        .then(() => undefined, (e: unknown) => postgresError(e).code);
      expect(fork).toBe('23505');
      await tx.execute(sql`
        insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash, hash)
        values (${forged.org_id}, 8, ${forged.occurred_at}::timestamptz, ${forged.actor_type}, ${forged.actor_id}, ${forged.action},
                ${forged.target_type}, ${forged.target_id}, ${forged.request_id}, ${forged.ip}, ${JSON.stringify(forged.data)}::jsonb,
                decode(${forged.prev_hash}, 'hex'), ${hash})`);
      // A careful forger moves the head along too, so appends keep working.
      await tx.execute(sql`update audit_chain_heads set seq = 15, head_hash = (select hash from audit_log where seq = 15)`);
    });
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'inserted', seq: 8 } });
    expect((await offline(tenant)).line).toMatch(/^NOT VERIFIED: first break at seq 8 \(inserted\)/);
  });

  it('the tail cut off (and the head rewound to match): only a checkpoint tells, and it does', async () => {
    const tenant = await chainOf13();
    const { data: checkpoints } = (await api(tenant, '/v1/audit-log/checkpoints')) as { data: { seq: number; note: string }[] };
    const { verifierKey } = (await api(tenant, '/v1/audit-log/public-key')) as { verifierKey: string };
    const kept = checkpoints.find((c) => c.seq === 11)!;
    expect(kept).toBeDefined();

    await tamper(tenant, async (tx) => {
      const nine = await rowAt(tx, 9);
      await tx.execute(sql`delete from audit_log where seq >= 10`);
      await tx.execute(sql`update audit_chain_heads set seq = 9, head_hash = decode(${nine.hash}, 'hex')`);
    });
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({ ok: false, firstBreak: { kind: 'missing', seq: 10 } });

    // Offline: the export alone looks whole (the attacker could also drop the
    // checkpoints in the database); the checkpoint the customer kept does not agree.
    const file = path.join(dir, 'truncated.jsonl');
    const exported = ((await api(tenant, '/v1/audit-log/export?format=jsonl')) as string).split('\n').filter(Boolean);
    await writeFile(file, exported.slice(0, 9).join('\n') + '\n');
    expect(await verifyExportFile(file)).toEqual({
      ok: false,
      verdict: 'unauthenticated',
      line: expect.stringMatching(new RegExp(`^UNAUTHENTICATED: internally consistent \\(organization ${tenant.orgId}, seq 1 to 9 \\(9 rows\\)`)),
    });
    const verdict = await verifyExportFile(file, { checkpoint: kept.note, publicKey: verifierKey });
    expect(verdict).toEqual({ ok: false, verdict: 'not-verified', line: expect.stringMatching(/^NOT VERIFIED: first break at seq 10 \(missing\)/) });

    // A forged checkpoint does not help the attacker either.
    const forgedNote = kept.note.replace(/\n11\n/, '\n9\n');
    expect((await verifyExportFile(file, { checkpoint: forgedNote, publicKey: verifierKey })).line).toMatch(/checkpoint rejected/);
  });

  it('the tail cut off with the checkpoints rewound to match: the stored note still signs the old head, so the API tells', async () => {
    const tenant = await chainOf13();
    await tamper(tenant, async (tx) => {
      const nine = await rowAt(tx, 9);
      await tx.execute(sql`delete from audit_log where seq >= 10`);
      await tx.execute(sql`update audit_chain_heads set seq = 9, head_hash = decode(${nine.hash}, 'hex')`);
      // The checkpoint table's columns say seq 9 now; its note cannot be re-signed without the key.
      await tx.execute(sql`alter table audit_checkpoints disable trigger user`);
      await tx.execute(sql`delete from audit_checkpoints where seq > 11`);
      await tx.execute(sql`update audit_checkpoints set seq = 9, head_hash = decode(${nine.hash}, 'hex') where seq = 11`);
      await tx.execute(sql`alter table audit_checkpoints enable trigger user`);
    });
    expect(await api(tenant, '/v1/audit-log/verify')).toMatchObject({
      ok: false,
      firstBreak: { kind: 'altered', seq: 9, detail: 'the stored checkpoint does not say what its note signs' },
    });
  });

  it('an untouched export verifies offline with the npx command, against its checkpoint', async () => {
    const tenant = await chainOf13();
    const { data: checkpoints } = (await api(tenant, '/v1/audit-log/checkpoints')) as { data: { seq: number; note: string }[] };
    const { verifierKey } = (await api(tenant, '/v1/audit-log/public-key')) as { verifierKey: string };
    const file = path.join(dir, 'good.jsonl');
    await writeFile(file, (await api(tenant, '/v1/audit-log/export?format=jsonl')) as string);
    await writeFile(path.join(dir, 'cp.txt'), checkpoints[0]!.note);
    const { stdout } = await promisify(execFile)('npx', ['kommit-audit', 'verify', file, '--checkpoint', path.join(dir, 'cp.txt'), '--public-key', verifierKey], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
    });
    expect(stdout).toMatch(
      new RegExp(`^VERIFIED: organization ${tenant.orgId}, seq 1 to 15 \\(15 rows\\), head hash [0-9a-f]{64}; matches the signed checkpoint at seq 11 \\(rows 12 to 15, after it, are covered by no signature given\\)\n$`),
    );
    // The export alone, and a key without a checkpoint to check, are no verification.
    const alone = await promisify(execFile)('npx', ['kommit-audit', 'verify', file], { cwd: path.resolve(import.meta.dirname, '../../..') }).then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(alone).toMatchObject({ code: 3, stdout: expect.stringMatching(/^UNAUTHENTICATED: internally consistent \(organization /) });
    const keyOnly = await promisify(execFile)('npx', ['kommit-audit', 'verify', file, '--public-key', verifierKey], { cwd: path.resolve(import.meta.dirname, '../../..') }).then(
      () => null,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(keyOnly).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^error: --public-key needs --checkpoint/) });
  });
});
