import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../tenant.ts';
import { ChainVerifier, checkAgainstCheckpoint, type ChainedRecord, type VerifyResult } from './chain.ts';

/** The stored row in its exported form: exactly what the hash covers, plus the hash. */
export const RECORD_COLUMNS = sql.raw(`
  org_id::text as org_id, seq::int8 as seq,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  actor_type, actor_id, action, target_type, target_id, request_id, ip, data,
  encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash`);

export type RecordRow = Omit<ChainedRecord, 'seq'> & { seq: string | number };

export function toRecord(row: RecordRow): ChainedRecord {
  return { ...row, seq: Number(row.seq) };
}

/**
 * Reads the organization's rows in seq order in pages (keyset on the primary
 * key), so memory stays constant however long the chain is. The next page is
 * already being fetched while the caller works on the current one, so the
 * database and the hashing overlap.
 */
export async function* streamRecords(tx: Tx, filter: SQL = sql`true`, pageSize = 5000): AsyncGenerator<ChainedRecord[]> {
  const fetchPage = async (after: number) =>
    (await tx.execute<RecordRow>(sql`select ${RECORD_COLUMNS} from audit_log where seq > ${after} and ${filter} order by seq limit ${pageSize}`)).map(toRecord);
  let page = await fetchPage(0);
  while (page.length > 0) {
    const next = page.length < pageSize ? Promise.resolve([]) : fetchPage(page.at(-1)!.seq);
    // Keep an unobserved rejection from surfacing if the caller stops early.
    next.catch(() => {});
    yield page;
    page = await next;
  }
}

export interface ChainReport extends VerifyResult {
  checkpoint: { seq: number; hash: string } | null;
}

/**
 * Recomputes the organization's chain (inside its tenant transaction) and
 * compares its end with the chain head row and the latest signed checkpoint,
 * which is what reveals a cut-off tail.
 */
export async function readChain(tx: Tx, orgId: string, pageSize = 5000): Promise<ChainReport> {
  const [latest] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_checkpoints order by seq desc limit 1`);
  const [head] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash from audit_chain_heads where org_id = ${orgId}`);
  const checkpoint = latest ? { seq: Number(latest.seq), hash: latest.hash } : null;
  const verifier = new ChainVerifier();
  let hashAtCheckpoint: string | null = null;
  // Only up to the head read above: pages are separate statements, and appends
  // committing meanwhile must not look like rows beyond the head.
  const upTo = head ? sql`seq <= ${Number(head.seq)}` : sql`true`;
  for await (const page of streamRecords(tx, upTo, pageSize)) {
    for (const record of page) {
      if (checkpoint && record.seq === checkpoint.seq) hashAtCheckpoint = record.hash;
      verifier.push(record);
    }
    if (verifier.failed) break;
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
