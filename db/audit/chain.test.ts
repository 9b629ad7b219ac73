import { describe, expect, it } from 'vitest';
import { canonicalRecord, canonicalRecordReference, ChainVerifier, recordHash, type AuditRecord, type ChainedRecord } from './chain.ts';

const base: AuditRecord = {
  org_id: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d',
  seq: 1,
  occurred_at: '2026-11-26T08:00:00.123456Z',
  actor_type: 'user',
  actor_id: null,
  action: 'project.create',
  target_type: 'project',
  target_id: 'x',
  request_id: null,
  ip: '::1',
  data: {},
  prev_hash: '00'.repeat(32),
};

describe('canonicalRecord', () => {
  it('writes exactly what RFC 8785 canonicalization of the record writes', () => {
    const samples: Partial<AuditRecord>[] = [
      {},
      { data: { z: 1, a: [3, 2, { y: null, b: 'é' }], 'ü': 1e21, n: -0.5 } },
      { action: 'quote"back\\\\slash', target_id: '\u2028line\u0007', ip: null, seq: 9_007_199_254_740_991 },
      { data: { '\ud83d\ude00': 'emoji', '': 'empty key', nested: { b: true, a: false } } },
    ];
    for (const sample of samples) {
      const record = { ...base, ...sample };
      expect(canonicalRecord(record)).toBe(canonicalRecordReference(record));
    }
  });
});

describe('ChainVerifier', () => {
  const chain = (n: number) => {
    const rows: ChainedRecord[] = [];
    let prev = '00'.repeat(32);
    for (let seq = 1; seq <= n; seq++) {
      const record = { ...base, seq, data: { seq }, prev_hash: prev };
      const hash = recordHash(record).toString('hex');
      rows.push({ ...record, hash });
      prev = hash;
    }
    return rows;
  };
  const verify = (rows: ChainedRecord[]) => {
    const v = new ChainVerifier();
    for (const row of rows) v.push(row);
    return v.finish();
  };

  it('accepts a whole chain and reports its head', () => {
    const rows = chain(5);
    expect(verify(rows)).toEqual({ ok: true, rowsChecked: 5, head: { seq: 5, hash: rows[4]!.hash }, firstBreak: null });
  });

  it('names the kind and place of the first break', () => {
    const altered = chain(5);
    altered[2] = { ...altered[2]!, action: 'project.delete' };
    expect(verify(altered).firstBreak).toMatchObject({ kind: 'altered', seq: 3 });
    const missing = chain(5).filter((r) => r.seq !== 3);
    expect(verify(missing).firstBreak).toMatchObject({ kind: 'missing', seq: 3 });
    const firstMissing = chain(3).slice(1);
    expect(verify(firstMissing).firstBreak).toMatchObject({ kind: 'missing', seq: 1 });
    const swapped = chain(5);
    [swapped[2], swapped[3]] = [{ ...swapped[3]!, seq: 3 }, { ...swapped[2]!, seq: 4 }];
    expect(verify(swapped).firstBreak).toMatchObject({ kind: 'reordered', seq: 3 });
    const lastAltered = chain(3);
    lastAltered[2] = { ...lastAltered[2]!, data: { seq: 99 } };
    expect(verify(lastAltered).firstBreak).toMatchObject({ kind: 'altered', seq: 3 });
  });
});
