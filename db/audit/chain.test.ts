import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalRecord,
  canonicalRecordReference,
  ChainVerifier,
  jsonLine,
  linkHash,
  parseExportLine,
  recordHash,
  type AuditRecord,
  type ChainedRecord,
} from './chain.ts';

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

/** Whatever a function returns, or that it threw: two serializers must agree on both. */
const outcome = (fn: () => string | undefined) => {
  try {
    return { ok: fn() };
  } catch {
    return { threw: true };
  }
};

// Strings of every kind: the characters JSON escapes, any code point (astral
// ones as surrogate pairs), and lone surrogates, which RFC 8785 refuses.
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
const anyString = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', 'a', 'é', '€', '😀') }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('a', '😀', '"') }, { weight: 1, arbitrary: loneSurrogate }) }),
);
// Numbers of every kind JSON can carry, with the edges of RFC 8785's number format.
const anyNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 123e-20, 5e-324, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.1 + 0.2),
);
const jsonTree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.boolean(), anyNumber, anyString, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(anyString, tie('value'), { maxKeys: 6 }),
})).value;

describe('canonicalJson', () => {
  it('writes what the canonicalize library writes for any JSON value, and refuses what it refuses', () => {
    fc.assert(
      fc.property(jsonTree, (value) => {
        expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => canonicalize(value)));
        // The same after a round trip through JSON text, as rows arrive from jsonb and export files.
        const text = outcome(() => JSON.stringify(value));
        if ('ok' in text && text.ok !== undefined) {
          const parsed: unknown = JSON.parse(text.ok);
          expect(outcome(() => canonicalJson(parsed))).toEqual(outcome(() => canonicalize(parsed)));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves values JSON cannot carry to the library', () => {
    const odd = [undefined, [1, undefined], { a: undefined, b: 1 }, new Date(0), { when: new Date(0) }, Object.create(null), NaN, Infinity, { toJSON: () => 'x' }];
    for (const value of odd) expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => canonicalize(value)));
  });
});

describe('canonicalRecord and linkHash', () => {
  const nullable = fc.option(anyString, { nil: null });
  const record = fc.record({
    org_id: anyString,
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    occurred_at: anyString,
    actor_type: anyString,
    actor_id: nullable,
    action: anyString,
    target_type: nullable,
    target_id: nullable,
    request_id: nullable,
    ip: nullable,
    data: jsonTree,
    prev_hash: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')), anyString),
  });

  it('match the general canonicalization and a plain SHA-256 of prev_hash and the canonical JSON', () => {
    fc.assert(
      fc.property(record, (r: AuditRecord) => {
        const reference = outcome(() => canonicalRecordReference(r));
        const fast = outcome(() => canonicalRecord(r));
        // The fixed fields are written with JSON.stringify, which escapes a lone
        // surrogate the library refuses; the data payload refuses it alike.
        if ('threw' in reference && !('threw' in fast)) {
          const { data: _data, ...fixed } = r;
          expect(outcome(() => canonicalize(fixed))).toEqual({ threw: true });
          return;
        }
        expect(fast).toEqual(reference);
        if ('ok' in fast) {
          const expected = createHash('sha256').update(Buffer.from(r.prev_hash, 'hex')).update(fast.ok!).digest('hex');
          expect(linkHash(r.prev_hash, fast.ok!)).toBe(expected);
          expect(recordHash(r).toString('hex')).toBe(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes payloads larger than the reused buffer', () => {
    const r = { ...base, data: { big: 'é'.repeat(200_000), list: Array.from({ length: 5000 }, (_, i) => i) } };
    const expected = createHash('sha256').update(Buffer.from(r.prev_hash, 'hex')).update(canonicalRecordReference(r)).digest('hex');
    expect(recordHash(r).toString('hex')).toBe(expected);
    expect(recordHash(base).toString('hex')).toBe(createHash('sha256').update(Buffer.alloc(32)).update(canonicalRecordReference(base)).digest('hex'));
  });
});

describe('jsonLine', () => {
  it('writes JSON.stringify’s bytes of a record with a numeric seq, which parseExportLine compares lines with', () => {
    const record = { ...base, seq: 12, hash: 'ab'.repeat(32) };
    const awkward = ['"quoted" \\ back', 'tab\tnew\nline\u0001', 'é😀', '\ud800 lone', '', '\u2028'];
    for (const data of [null, 0, -1.5e300, awkward, { z: 1, 10: 2, a: { '': [true, null] } }, Object.fromEntries(awkward.map((k, i) => [k, i]))]) {
      const row = { ...record, data, actor_id: awkward[0]!, ip: null };
      expect(jsonLine({ ...row, seq: '12' })).toBe(`${JSON.stringify(row)}\n`);
      expect(parseExportLine(JSON.stringify(row))).toEqual(row);
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

  it('classifies by links before seq numbers: swapped lines are reordered, an edited seq is an alteration', () => {
    // Export lines swapped as they are, each keeping its own seq.
    const swappedLines = chain(5);
    [swappedLines[2], swappedLines[3]] = [swappedLines[3]!, swappedLines[2]!];
    expect(verify(swappedLines).firstBreak).toMatchObject({ kind: 'reordered', seq: 4 });
    const swappedLast = chain(4);
    [swappedLast[2], swappedLast[3]] = [swappedLast[3]!, swappedLast[2]!];
    expect(verify(swappedLast).firstBreak).toMatchObject({ kind: 'reordered', seq: 4 });
    // Only the seq field edited: the row still links to row 2, so it was altered, not a gap.
    const editedSeq = chain(5);
    editedSeq[2] = { ...editedSeq[2]!, seq: 7 };
    expect(verify(editedSeq).firstBreak).toMatchObject({ kind: 'altered', seq: 7 });
    const editedLastSeq = chain(3);
    editedLastSeq[2] = { ...editedLastSeq[2]!, seq: 7 };
    expect(verify(editedLastSeq).firstBreak).toMatchObject({ kind: 'altered', seq: 7 });
    // A row with a valid hash of its own, linked in, that the next row skips over.
    const rows = chain(4);
    const forged = { ...base, seq: 3, data: { forged: true }, prev_hash: rows[1]!.hash };
    const inserted = [...rows.slice(0, 2), { ...forged, hash: recordHash(forged).toString('hex') }, ...rows.slice(2)];
    expect(verify(inserted).firstBreak).toMatchObject({ kind: 'inserted', seq: 3 });
  });
});
