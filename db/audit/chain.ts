import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The predecessor of every organization's first row. */
export const GENESIS_HASH = Buffer.alloc(32);

/** A row as stored and as exported: hashes in hex, time in UTC with microseconds. */
export interface AuditRecord {
  org_id: string;
  seq: number;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  ip: string | null;
  data: unknown;
  prev_hash: string;
}

export interface ChainedRecord extends AuditRecord {
  hash: string;
}

/**
 * RFC 8785 canonical JSON of a JSON value as JSON.parse (or postgres.js, for
 * jsonb) produces it: null, booleans, finite numbers, strings, arrays and plain
 * objects. Same bytes as canonicalize() for those (a property test holds it to
 * that), and the same refusals (lone surrogates, non-finite numbers), but
 * without the general library's cycle and toJSON bookkeeping, which a parsed
 * value cannot need and which dominated its cost per row. Anything else (a
 * Date, a class instance, undefined) goes to the library, so the output never
 * differs.
 */
export function canonicalJson(value: unknown): string {
  // Most values need nothing RFC 8785 adds to JSON.stringify (reordering keys,
  // refusing what it cannot represent): one look over them, then the native
  // serializer writes the same bytes in one call.
  if (stringifiesCanonically(value)) return JSON.stringify(value);
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new Error('Lone surrogate is not allowed');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(Number.isNaN(value) ? 'NaN is not allowed' : 'Infinity is not allowed');
      // ECMAScript's number to string is RFC 8785's number serialization.
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') return canonicalize(value)!;
          out += (i ? ',' : '') + canonicalJson(item);
        }
        return `${out}]`;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return canonicalize(value)!;
      // RFC 8785 orders keys by UTF-16 code units: what the default sort and `<`
      // compare. Keys often arrive in that order already (jsonb keeps short
      // keys first), and checking is far cheaper than sort()'s allocations.
      const keys = Object.keys(value);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) {
          keys.sort();
          break;
        }
      }
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') return canonicalize(value)!;
        if (!key.isWellFormed()) throw new Error('Lone surrogate is not allowed');
        out += `${i ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(item)}`;
      }
      return `${out}}`;
    }
    default:
      return canonicalize(value)!;
  }
}

/**
 * Whether JSON.stringify(value) is already value's RFC 8785 canonical JSON:
 * well-formed strings, finite numbers, booleans, null, and arrays and plain
 * objects of such values, every object's keys already in code-unit order
 * (JSON.stringify writes them in Object.keys order). Then the two serializers
 * write the same characters for every value and key.
 */
function stringifiesCanonically(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'number':
      return Number.isFinite(value);
    case 'boolean':
      return true;
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!stringifiesCanonically(value[i])) return false;
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if ((i > 0 && keys[i - 1]! > key) || !key.isWellFormed() || !stringifiesCanonically((value as Record<string, unknown>)[key])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * RFC 8785 canonical JSON of everything but the hash, in three pieces: before
 * `data`, `data`, after it. The record's own keys are fixed, so they are
 * written in their canonical (sorted) order directly, and only `data` goes
 * through the value serializer above: same bytes as canonicalize(record)
 * (tested), at a fraction of the cost per row, which is what verification
 * throughput is made of. JSON.stringify of strings and finite numbers is
 * already RFC 8785's serialization. `seq` is given separately, for a row that
 * carries it as a string (a database row).
 */
export function canonicalRecordParts(r: Omit<AuditRecord, 'seq'>, seq: number): CanonicalParts {
  const j = JSON.stringify;
  return {
    before: `{"action":${j(r.action)},"actor_id":${j(r.actor_id)},"actor_type":${j(r.actor_type)},"data":`,
    data: canonicalJson(r.data),
    after:
      `,"ip":${j(r.ip)},"occurred_at":${j(r.occurred_at)},"org_id":${j(r.org_id)},"prev_hash":${j(r.prev_hash)},` +
      `"request_id":${j(r.request_id)},"seq":${j(seq)},"target_id":${j(r.target_id)},"target_type":${j(r.target_type)}}`,
  };
}

/** A row's canonical JSON in the pieces it is built from; hashed without joining them. */
export interface CanonicalParts {
  before: string;
  data: string;
  after: string;
}

export function canonicalRecord(r: AuditRecord) {
  const { before, data, after } = canonicalRecordParts(r, r.seq);
  return before + data + after;
}

/** The general form, for checking the fast one. */
export function canonicalRecordReference(record: AuditRecord) {
  const { org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash } = record;
  return canonicalize({ org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash })!;
}

/** Reused for every hash input; grown when a row needs more. One thread, no await in between: safe to share. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The buffer hash inputs are assembled in (here and in db/audit/read.ts), at
 * least `bytes` long. Valid until the next call: write, hash, and let go
 * without awaiting in between.
 */
export function hashScratch(bytes: number) {
  if (bytes > scratch.length) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/**
 * Hex SHA-256(prev_hash bytes || UTF-8 of the canonical JSON): the pieces are
 * written one after the other into one reused buffer and hashed in a single
 * call, with no joined string, Hash object, digest buffer or hex conversion
 * per row.
 */
export function linkHash(prevHashHex: string, canonical: CanonicalParts | string): string {
  const parts = typeof canonical === 'string' ? { before: canonical, data: '', after: '' } : canonical;
  // Hex decodes to at most half its length; a UTF-16 unit encodes to at most 3 bytes.
  const max = (prevHashHex.length >>> 1) + (parts.before.length + parts.data.length + parts.after.length) * 3;
  const scratch = hashScratch(max);
  // Like Buffer.from(hex, 'hex'): decoding stops at the first character that is not hex.
  let end = scratch.write(prevHashHex, 0, 'hex');
  end += scratch.write(parts.before, end, 'utf8');
  end += scratch.write(parts.data, end, 'utf8');
  end += scratch.write(parts.after, end, 'utf8');
  return hash('sha256', scratch.subarray(0, end), 'hex');
}

export function recordHash(record: AuditRecord) {
  return Buffer.from(linkHash(record.prev_hash, canonicalRecordParts(record, record.seq)), 'hex');
}

export type BreakKind = 'altered' | 'missing' | 'reordered' | 'inserted';

export interface ChainBreak {
  kind: BreakKind;
  seq: number;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  rowsChecked: number;
  head: { seq: number; hash: string } | null;
  firstBreak: ChainBreak | null;
}

/**
 * What verification needs of a row: its seq, its links and the canonical JSON
 * its hash covers, or the hash already recomputed from it. The offline
 * verifiers build it from a parsed export line (`linkOf`), the API from the
 * database row's bytes (db/audit/read.ts, `linkOfColumns`).
 */
export type ChainLink = {
  seq: number;
  prev_hash: string;
  hash: string;
  /** Why the row could not be hashed at all (then it matches no hash): said in the break instead of a plain mismatch. */
  invalid?: string;
} & (
  | {
      /** The canonical JSON the hash covers: in parts (an organization's row) or whole (the platform chain's). */
      canonical: CanonicalParts | string;
    }
  | {
      /** linkHash(prev_hash, canonical JSON of the row), computed by whoever built the link. */
      recomputed: string;
    }
);

export function linkOf(record: ChainedRecord): ChainLink {
  try {
    return { seq: record.seq, prev_hash: record.prev_hash, hash: record.hash, canonical: canonicalRecordParts(record, record.seq) };
  } catch (error) {
    // RFC 8785 refuses some parsed values (a lone surrogate in `data`), and so
    // does jsonb: no stored row holds one, so only an edited export can. Such a
    // row is a break in the chain to report, not a reason for the verifier to crash.
    const reason = (error as Error).message;
    return { seq: record.seq, prev_hash: record.prev_hash, hash: record.hash, recomputed: '', invalid: `its data is not valid canonical JSON (${reason})` };
  }
}

const GENESIS_HEX = GENESIS_HASH.toString('hex');

/**
 * Checks a chain fed in seq order, one row at a time (constant memory). A break
 * is classified with one row of lookahead, links before seq numbers (a seq is
 * just a field an editor can change; a link is a hash): a row the next row
 * skips over (or the previous one was skipped), a row inserted; a row that
 * links to its expected predecessor but does not hash to its stored hash, a
 * row altered; a row whose predecessor comes right after it, rows reordered;
 * a gap in seq, a missing row; anything else, a row altered.
 */
export class ChainVerifier {
  private prev: { seq: number; hash: string } | null = null;
  private prevPrevHash: string | null = null;
  private pending: ChainLink | null = null;
  private checked = 0;
  private broken: ChainBreak | null = null;

  /** Whether a break was found (further rows are then ignored). */
  get failed() {
    return this.broken !== null;
  }

  push(record: ChainedRecord) {
    if (this.broken) return;
    this.pushLink(linkOf(record));
  }

  pushLink(link: ChainLink) {
    if (this.broken) return;
    if (this.pending) this.check(this.pending, link);
    this.pending = link;
  }

  finish(): VerifyResult {
    if (this.pending && !this.broken) this.check(this.pending, null);
    this.pending = null;
    return { ok: !this.broken, rowsChecked: this.checked, head: this.prev, firstBreak: this.broken };
  }

  private check(row: ChainLink, next: ChainLink | null) {
    const expectedSeq = (this.prev?.seq ?? 0) + 1;
    const expectedPrev = this.prev?.hash ?? GENESIS_HEX;
    // The hash is only worth computing for a row that sits in its place.
    if (
      row.seq === expectedSeq &&
      row.prev_hash === expectedPrev &&
      ('recomputed' in row ? row.recomputed : linkHash(row.prev_hash, row.canonical)) === row.hash
    ) {
      this.prevPrevHash = this.prev?.hash ?? null;
      this.prev = { seq: row.seq, hash: row.hash };
      this.checked++;
      return;
    }
    this.checked++;
    const linked = row.prev_hash === expectedPrev;
    if (!linked && next && row.prev_hash === next.hash) {
      this.broken = { kind: 'reordered', seq: row.seq, detail: `the row at seq ${row.seq} follows the row stored after it` };
    } else if (next && next.prev_hash === expectedPrev) {
      this.broken = { kind: 'inserted', seq: row.seq, detail: `the row at seq ${row.seq} is not part of the chain: the next row links past it` };
    } else if (this.prev && this.prevPrevHash !== null && row.prev_hash === this.prevPrevHash) {
      this.broken = { kind: 'inserted', seq: this.prev.seq, detail: `the row at seq ${this.prev.seq} is not part of the chain: the next row links past it` };
    } else if (!linked && row.seq > expectedSeq) {
      // Only a row that does not link where it should: an edited seq on a linked row is an alteration.
      this.broken = { kind: 'missing', seq: expectedSeq, detail: `seq ${expectedSeq} is missing: the chain goes from ${expectedSeq - 1} to ${row.seq}` };
    } else {
      this.broken = {
        kind: 'altered',
        seq: row.seq,
        detail: row.invalid ? `the row at seq ${row.seq} cannot be hashed: ${row.invalid}` : `the row at seq ${row.seq} does not match its hash or its link`,
      };
    }
  }
}

/** Compares a verified chain's end with a checkpoint the customer kept. */
export function checkAgainstCheckpoint(result: VerifyResult, checkpoint: { seq: number; hash: string }, hashAtCheckpoint: string | null): ChainBreak | null {
  const last = result.head?.seq ?? 0;
  if (checkpoint.seq > last) {
    return { kind: 'missing', seq: last + 1, detail: `rows ${last + 1} to ${checkpoint.seq} are missing: a signed checkpoint covers seq ${checkpoint.seq}` };
  }
  if (hashAtCheckpoint !== checkpoint.hash) {
    return { kind: 'altered', seq: checkpoint.seq, detail: `the chain up to seq ${checkpoint.seq} differs from the signed checkpoint` };
  }
  return null;
}

/** /^[0-9a-f]{64}$/ as a loop: it runs twice per row, and the regular expression cost more than the JSON.parse around it. */
function isHexHash(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * One export line (JSON Lines), as the export route writes it: the same bytes
 * as JSON.stringify of the row with a numeric seq, without the intermediate
 * object. The offline verifiers hold every line to these bytes.
 */
export function jsonLine(r: Omit<ChainedRecord, 'seq'> & { seq: string | number }) {
  const j = JSON.stringify;
  return (
    `{"org_id":${j(r.org_id)},"seq":${Number(r.seq)},"occurred_at":${j(r.occurred_at)},"actor_type":${j(r.actor_type)},` +
    `"actor_id":${j(r.actor_id)},"action":${j(r.action)},"target_type":${j(r.target_type)},"target_id":${j(r.target_id)},` +
    `"request_id":${j(r.request_id)},"ip":${j(r.ip)},"data":${j(r.data)},"prev_hash":${j(r.prev_hash)},"hash":${j(r.hash)}}\n`
  );
}

const EXPORT_KEYS = ['org_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'request_id', 'ip', 'data', 'prev_hash', 'hash'];

/**
 * Whether a parsed line has exactly jsonLine's keys, in its order: then
 * JSON.stringify(record) writes jsonLine's bytes (tested) in one native call,
 * which costs the verifier far less per row than jsonLine's thirteen.
 */
function hasExportKeys(record: object) {
  const keys = Object.keys(record);
  if (keys.length !== EXPORT_KEYS.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== EXPORT_KEYS[i]) return false;
  return true;
}

/** Why a blank line before a row fails an export: the export writes none there (it would be a row removed, or text added). */
export const BLANK_LINE = 'is blank: an export has no blank line before its last row';

/**
 * An export line (without its line break) as a record, or why it is none. The
 * hash covers the parsed values only, so the line must also be exactly what
 * the export writes: else a key added or repeated (JSON.parse keeps the last)
 * would pass unseen.
 */
export function parseExportLine(line: string): ChainedRecord | string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return 'is not JSON';
  }
  if (!looksLikeRecord(record)) return 'is not an audit record';
  if (!hasExportKeys(record) || JSON.stringify(record) !== line) return 'is not written as the export writes it (a key added, repeated, missing or moved, or other spacing)';
  return record;
}

/** A cheap shape check (every row passes through it, so no schema library here). */
export function looksLikeRecord(value: unknown): value is ChainedRecord {
  const r = value as Partial<ChainedRecord> | null;
  return (
    !!r &&
    typeof r === 'object' &&
    typeof r.org_id === 'string' &&
    Number.isSafeInteger(r.seq) &&
    typeof r.occurred_at === 'string' &&
    typeof r.action === 'string' &&
    isHexHash(r.prev_hash) &&
    isHexHash(r.hash)
  );
}
