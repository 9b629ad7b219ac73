import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRecordParts, linkHash, type AuditRecord } from './chain.ts';
import { linkOfColumns, toRecord, type RecordRow } from './read.ts';

// Text as Postgres stores it (valid UTF-8, so no lone surrogates), with every
// character JSON escapes, and characters it leaves alone.
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', ' ', '\u007f', '\u2028', 'a', 'é', '€', '😀') }),
  fc.string({ unit: 'grapheme' }),
);
const nullableText = fc.option(text, { nil: null });
const hex = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString('hex'));
const row = fc.record({
  org_id: fc.uuid(),
  // int8: beyond 2^53 the JSON number is the double's, as toRecord makes it.
  seq: fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 53n }), fc.bigInt({ min: 1n, max: 2n ** 63n - 1n })).map(String),
  // to_char of the time, or null (to_char of an infinite time).
  occurred_at: fc.option(fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '123Z')), { nil: null }),
  actor_type: text,
  actor_id: nullableText,
  action: text,
  target_type: nullableText,
  target_id: nullableText,
  request_id: nullableText,
  ip: nullableText,
  // jsonb's text, which postgres.js would parse: any JSON value without lone surrogates.
  data: fc.jsonValue().map((v) => JSON.stringify(v)).filter((t) => t.isWellFormed()),
  prev_hash: fc.oneof(hex(32, 32), hex(0, 40)),
  hash: hex(32, 32),
});
type Columns = typeof row extends fc.Arbitrary<infer T> ? T : never;

const ORDER = ['org_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'request_id', 'ip', 'data', 'prev_hash', 'hash'] as const;

/** The columns as postgres.js's raw() hands them over: views of one message's bytes, null for NULL. */
function asSent(columns: Columns) {
  const bytes = ORDER.map((name) => (columns[name] === null ? null : Buffer.from(columns[name]!, 'utf8')));
  const message = Buffer.concat(bytes.filter((b) => b !== null));
  let at = 0;
  return bytes.map((b) => (b === null ? null : message.subarray(at, (at += b.length))));
}

/** The hash the general path recomputes for the same row, as postgres.js would have parsed it. */
function expectedHash(columns: Columns) {
  const record = toRecord({ ...columns, data: JSON.parse(columns.data) } as RecordRow);
  return linkHash(record.prev_hash, canonicalRecordParts(record as AuditRecord, record.seq));
}

describe('linkOfColumns', () => {
  it('recomputes the hash canonicalRecordParts and linkHash give the parsed row, for every kind of value', () => {
    fc.assert(
      fc.property(row, (columns) => {
        const link = linkOfColumns(asSent(columns));
        expect(link).toMatchObject({ seq: Number(columns.seq), prev_hash: columns.prev_hash, hash: columns.hash });
        expect('recomputed' in link && link.recomputed).toBe(expectedHash(columns));
      }),
      { numRuns: 3000 },
    );
  });

  it('handles rows larger than its reused buffer, and the rows after them', () => {
    const base: Columns = {
      org_id: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d',
      seq: '7',
      occurred_at: '2026-11-26T08:00:00.123456Z',
      actor_type: 'user',
      actor_id: null,
      action: 'project.create',
      target_type: 'project',
      target_id: '"'.repeat(20_000),
      request_id: null,
      ip: '::1',
      data: JSON.stringify({ big: 'é'.repeat(200_000), list: Array.from({ length: 5000 }, (_, i) => i) }),
      prev_hash: 'ab'.repeat(32),
      hash: 'cd'.repeat(32),
    };
    for (const columns of [base, { ...base, target_id: 'x', data: '{"b": 1, "a": [1.50, "x"]}' }]) {
      const link = linkOfColumns(asSent(columns));
      expect('recomputed' in link && link.recomputed).toBe(expectedHash(columns));
    }
  });
});
