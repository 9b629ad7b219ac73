import { hash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { TransactionSql } from 'postgres';
import type { Tx } from '../tenant.ts';
import { canonicalJson, ChainVerifier, checkAgainstCheckpoint, hashScratch, type ChainedRecord, type ChainLink, type VerifyResult } from './chain.ts';
import { storedCheckpointProblem, type CheckpointSigner } from './checkpoint.ts';

/**
 * A stored time as the chain hashes it: UTC, microseconds, ISO 8601. "YYYY"
 * has no era, so a time moved to the same moment BC would print the same;
 * such a time gets " BC" appended, which no row ever had when it was hashed,
 * so the verifier sees the row as altered. Every time written since the
 * chain began is AD and prints exactly as before.
 */
export const hashedTimeText = (column: string) =>
  `(to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || case when ${column} < '0001-01-01 00:00:00+00' then ' BC' else '' end)`;

const RECORD_COLUMNS_TEXT = `
  org_id::text as org_id, seq::int8 as seq,
  ${hashedTimeText('occurred_at')} as occurred_at,
  actor_type, actor_id, action, target_type, target_id, request_id, ip, data,
  encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash`;

/** The stored row in its exported form: exactly what the hash covers, plus the hash. */
export const RECORD_COLUMNS = sql.raw(RECORD_COLUMNS_TEXT);

export type RecordRow = Omit<ChainedRecord, 'seq'> & { seq: string | number };

export function toRecord(row: RecordRow): ChainedRecord {
  return { ...row, seq: Number(row.seq) };
}

/** Where each column of RECORD_COLUMNS is in a row read as raw column bytes. */
const COLUMN = { org_id: 0, seq: 1, occurred_at: 2, actor_type: 3, actor_id: 4, action: 5, target_type: 6, target_id: 7, request_id: 8, ip: 9, data: 10, prev_hash: 11, hash: 12 } as const;

/** The canonical JSON's fixed pieces, in its (sorted) key order. */
const piece = (text: string) => Buffer.from(text, 'latin1');
const ACTION = piece('{"action":');
const ACTOR_ID = piece(',"actor_id":');
const ACTOR_TYPE = piece(',"actor_type":');
const DATA = piece(',"data":');
const IP = piece(',"ip":');
const OCCURRED_AT = piece(',"occurred_at":');
const ORG_ID = piece(',"org_id":');
const PREV_HASH = piece(',"prev_hash":');
const REQUEST_ID = piece(',"request_id":');
const SEQ = piece(',"seq":');
const TARGET_ID = piece(',"target_id":');
const TARGET_TYPE = piece(',"target_type":');
const END = piece('}');
const NULL = piece('null');
const FIXED_BYTES = [ACTION, ACTOR_ID, ACTOR_TYPE, DATA, IP, OCCURRED_AT, ORG_ID, PREV_HASH, REQUEST_ID, SEQ, TARGET_ID, TARGET_TYPE, END].reduce((n, p) => n + p.length, 0);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The row's hash input is written here (chain.ts's shared buffer, taken at the start of each row). */
let scratch: Buffer = hashScratch(0);

function put(bytes: Uint8Array, at: number) {
  scratch.set(bytes, at);
  return at + bytes.length;
}

/** A column whose text never needs escaping (a uuid, hex, to_char of the time) as a JSON string, or null. */
function putPlain(column: Buffer | null, at: number) {
  if (column === null) return put(NULL, at);
  scratch[at] = QUOTE;
  scratch.set(column, at + 1);
  at += column.length + 1;
  scratch[at] = QUOTE;
  return at + 1;
}

/**
 * A text column as JSON at `at` in scratch: JSON.stringify of the decoded
 * text, which is the column's own UTF-8 bytes in quotes unless a byte needs
 * escaping (a quote, a backslash or a control character; Postgres text is
 * valid UTF-8, so nothing else is escaped).
 */
function putString(column: Buffer | null, at: number) {
  if (column === null) return put(NULL, at);
  for (let i = 0; i < column.length; i++) {
    const c = column[i]!;
    if (c < 0x20 || c === QUOTE || c === BACKSLASH) return at + scratch.write(JSON.stringify(column.toString('utf8')), at, 'utf8');
  }
  return putPlain(column, at);
}

/**
 * A stored row's chain link from its raw column bytes (RECORD_COLUMNS, read
 * with postgres.js's raw()): the hash input (prev_hash's bytes, then the
 * row's canonical JSON) is assembled from the bytes Postgres sent, without a
 * row object, a string per column or a string per piece of JSON, and hashed
 * here. The bytes are those of canonicalRecordParts(toRecord(row)) (a test
 * holds it to that for every kind of value); only `data` is parsed, to be
 * serialized canonically.
 */
export function linkOfColumns(columns: (Buffer | null)[]): ChainLink {
  const seqColumn = columns[COLUMN.seq]!;
  const seqText = seqColumn.toString('latin1');
  const seq = Number(seqText);
  const prevHashColumn = columns[COLUMN.prev_hash]!;
  const prevHash = prevHashColumn.toString('latin1');
  const dataColumn = columns[COLUMN.data] ?? null;
  const data = dataColumn === null ? 'null' : canonicalJson(JSON.parse(dataColumn.toString('utf8')));
  // At most: the previous hash, the fixed pieces, every other column escaped
  // (6 bytes per byte, \u0000) or null, data (3 bytes per UTF-16 unit).
  let max = (prevHash.length >>> 1) + FIXED_BYTES + data.length * 3 + 32;
  for (let i = 0; i < columns.length; i++) if (i !== COLUMN.data) max += (columns[i]?.length ?? 4) * 6 + 2;
  scratch = hashScratch(max);
  // Like linkHash: decoding stops at the first character that is not hex.
  let at = scratch.write(prevHash, 0, 'hex');
  at = putString(columns[COLUMN.action] ?? null, put(ACTION, at));
  at = putString(columns[COLUMN.actor_id] ?? null, put(ACTOR_ID, at));
  at = putString(columns[COLUMN.actor_type] ?? null, put(ACTOR_TYPE, at));
  at = put(DATA, at);
  at += scratch.write(data, at, 'utf8');
  at = putString(columns[COLUMN.ip] ?? null, put(IP, at));
  at = putPlain(columns[COLUMN.occurred_at] ?? null, put(OCCURRED_AT, at));
  at = putPlain(columns[COLUMN.org_id] ?? null, put(ORG_ID, at));
  at = putPlain(prevHashColumn, put(PREV_HASH, at));
  at = putString(columns[COLUMN.request_id] ?? null, put(REQUEST_ID, at));
  at = put(SEQ, at);
  // int8 text is the JSON number while a double holds the value exactly.
  at = seqText.length <= 15 ? put(seqColumn, at) : at + scratch.write(JSON.stringify(seq), at, 'latin1');
  at = putString(columns[COLUMN.target_id] ?? null, put(TARGET_ID, at));
  at = putString(columns[COLUMN.target_type] ?? null, put(TARGET_TYPE, at));
  at = put(END, at);
  return { seq, prev_hash: prevHash, hash: columns[COLUMN.hash]!.toString('latin1'), recomputed: hash('sha256', scratch.subarray(0, at), 'hex') };
}

/**
 * The postgres.js transaction under a drizzle-orm/postgres-js one (drizzle
 * keeps it as session.client): drizzle only returns whole result arrays, and
 * verification wants rows one at a time as they arrive.
 */
export function postgresTransaction(tx: Tx): TransactionSql {
  const client = (tx as unknown as { session?: { client?: TransactionSql } }).session?.client;
  if (typeof client?.unsafe !== 'function') throw new Error('readChain needs a drizzle-orm/postgres-js transaction');
  return client;
}

export interface ChainReport extends VerifyResult {
  checkpoint: { seq: number; hash: string } | null;
}

/** Rows per statement: each stays well inside the statement timeout (30 s for the server) however long the chain. */
const BATCH_ROWS = 250_000;

/**
 * Recomputes the organization's chain (inside its tenant transaction) and
 * compares its end with the chain head row and the latest signed checkpoint,
 * which is what reveals a cut-off tail. With the signer, the checkpoint's note
 * must verify under its key and say what the checkpoint's columns say: else
 * someone able to rewrite the chain could rewrite the checkpoint to match.
 */
export async function readChain(tx: Tx, orgId: string, options: { signer?: Pick<CheckpointSigner, 'keyName' | 'publicKey'>; batchRows?: number } = {}): Promise<ChainReport> {
  const [latest] = await tx.execute<{ seq: string; hash: string; note: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash, note from audit_checkpoints order by seq desc limit 1`);
  const [head] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_chain_heads where org_id = ${orgId}`);
  const checkpoint = latest ? { seq: Number(latest.seq), hash: latest.hash } : null;
  const unsigned = latest && options.signer ? storedCheckpointProblem({ ...checkpoint!, note: latest.note }, options.signer, orgId) : null;
  if (unsigned) return { ok: false, rowsChecked: 0, head: null, firstBreak: { kind: 'altered', seq: checkpoint!.seq, detail: unsigned }, checkpoint };
  const verifier = new ChainVerifier();
  let hashAtCheckpoint: string | null = null;
  // Each batch is one statement, read row by row as Postgres sends it (forEach
  // keeps no result array): memory stays constant however long the chain is,
  // each row is garbage as soon as it is checked (rows held for a whole page
  // were promoted and made most of the verification's cost in garbage
  // collection), and Postgres produces rows while this process hashes,
  // throttled by TCP alone. Up to the head read above, so appends committing
  // meanwhile cannot look like rows beyond the head. After a break the rest of
  // the batch is drained unread: cancelling would abort the caller's transaction.
  const upTo = head ? Number(head.seq) : Number.MAX_SAFE_INTEGER;
  const batchRows = options.batchRows ?? BATCH_ROWS;
  // The first batch has no lower bound: a row forged at seq 0 or below must be read too.
  let after: number | null = null;
  while (!verifier.failed && (after ?? 0) < upTo) {
    let rows = 0;
    const end = Math.min((after ?? 0) + batchRows, upTo);
    await postgresTransaction(tx)
      .unsafe(
        after === null
          ? `select ${RECORD_COLUMNS_TEXT} from audit_log where seq <= $1 order by seq`
          : `select ${RECORD_COLUMNS_TEXT} from audit_log where seq > $2 and seq <= $1 order by seq`,
        after === null ? [end] : [end, after],
      )
      .raw()
      .forEach((row) => {
        rows++;
        if (verifier.failed) return;
        const link = linkOfColumns(row as unknown as (Buffer | null)[]);
        if (checkpoint && link.seq === checkpoint.seq) hashAtCheckpoint = link.hash;
        verifier.pushLink(link);
      });
    // Without a head row (it is made with the organization) the end is unknown: stop at the first empty range.
    if (!head && rows === 0) break;
    after = end;
  }
  const result = verifier.finish();
  if (result.ok) {
    // The head row and the checkpoint both remember how long the chain was.
    const anchors = [head && Number(head.seq) > 0 ? { seq: Number(head.seq), hash: head.hash } : null, checkpoint];
    for (const anchor of anchors) {
      if (!anchor) continue;
      const seen = anchor === checkpoint ? hashAtCheckpoint : anchor.seq === result.head?.seq ? result.head.hash : null;
      const broken = checkAgainstCheckpoint(result, anchor, seen);
      if (broken) return { ...result, ok: false, firstBreak: broken, checkpoint };
    }
  }
  return { ...result, checkpoint };
}
