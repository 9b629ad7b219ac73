import { sql } from 'drizzle-orm';
import type { TransactionSql } from 'postgres';
import type { Tx } from '../tenant.ts';
import { canonicalRecordParts, ChainVerifier, checkAgainstCheckpoint, type ChainedRecord, type ChainLink, type VerifyResult } from './chain.ts';

const RECORD_COLUMNS_TEXT = `
  org_id::text as org_id, seq::int8 as seq,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  actor_type, actor_id, action, target_type, target_id, request_id, ip, data,
  encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash`;

/** The stored row in its exported form: exactly what the hash covers, plus the hash. */
export const RECORD_COLUMNS = sql.raw(RECORD_COLUMNS_TEXT);

export type RecordRow = Omit<ChainedRecord, 'seq'> & { seq: string | number };

export function toRecord(row: RecordRow): ChainedRecord {
  return { ...row, seq: Number(row.seq) };
}

/**
 * A stored row's chain link: canonicalRecordParts without the intermediate
 * record object (the row's seq arrives as a string).
 */
export function linkOfRow(r: RecordRow): ChainLink {
  const seq = Number(r.seq);
  return { seq, prev_hash: r.prev_hash, hash: r.hash, canonical: canonicalRecordParts(r, seq) };
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

/**
 * Recomputes the organization's chain (inside its tenant transaction) and
 * compares its end with the chain head row and the latest signed checkpoint,
 * which is what reveals a cut-off tail.
 */
export async function readChain(tx: Tx, orgId: string): Promise<ChainReport> {
  const [latest] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_checkpoints order by seq desc limit 1`);
  const [head] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_chain_heads where org_id = ${orgId}`);
  const checkpoint = latest ? { seq: Number(latest.seq), hash: latest.hash } : null;
  const verifier = new ChainVerifier();
  let hashAtCheckpoint: string | null = null;
  // One statement, read row by row as Postgres sends it (forEach keeps no
  // result array): memory stays constant however long the chain is, each row
  // is garbage as soon as it is checked (rows held for a whole page were
  // promoted and made most of the verification's cost in garbage collection),
  // and Postgres produces rows while this process hashes, throttled by TCP
  // alone. Up to the head read above, so appends committing meanwhile (not
  // visible to this statement anyway) cannot look like rows beyond the head.
  // After a break the remaining rows are drained unread: cancelling would
  // abort the caller's transaction.
  const upTo = head ? Number(head.seq) : Number.MAX_SAFE_INTEGER;
  await postgresTransaction(tx)
    .unsafe<RecordRow[]>(`select ${RECORD_COLUMNS_TEXT} from audit_log where seq <= $1 order by seq`, [upTo])
    .forEach((row) => {
      if (verifier.failed) return;
      const link = linkOfRow(row);
      if (checkpoint && link.seq === checkpoint.seq) hashAtCheckpoint = link.hash;
      verifier.pushLink(link);
    });
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
