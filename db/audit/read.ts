import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../tenant.ts';
import { canonicalRecordParts, ChainVerifier, checkAgainstCheckpoint, type ChainedRecord, type ChainLink, type VerifyResult } from './chain.ts';

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
 * A stored row's chain link: canonicalRecordParts without the intermediate
 * record object (the row's seq arrives as a string).
 */
export function linkOfRow(r: RecordRow): ChainLink {
  const seq = Number(r.seq);
  return { seq, prev_hash: r.prev_hash, hash: r.hash, canonical: canonicalRecordParts(r, seq) };
}

/**
 * Reads the organization's rows for verification in seq order in pages (keyset
 * on the primary key), so memory stays constant however long the chain is.
 * The next page is already being fetched while the caller works on the current
 * one, so the database and the hashing overlap. Rows are turned into links
 * (linkOfRow) one at a time by the caller, so a canonical string lives only until
 * its row is checked instead of for a whole page, and dies young.
 */
export async function* streamRecordRows(tx: Tx, filter: SQL = sql`true`, pageSize = 5000): AsyncGenerator<RecordRow[]> {
  // async: drizzle's query object runs again on every then(); a promise runs once.
  const fetchPage = async (after: number): Promise<RecordRow[]> =>
    await tx.execute<RecordRow>(sql`select ${RECORD_COLUMNS} from audit_log where seq > ${after} and ${filter} order by seq limit ${pageSize}`);
  let page: RecordRow[] = await fetchPage(0);
  while (page.length > 0) {
    const next: Promise<RecordRow[]> = page.length < pageSize ? Promise.resolve([]) : fetchPage(Number(page.at(-1)!.seq));
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
  for await (const page of streamRecordRows(tx, upTo, pageSize)) {
    for (const row of page) {
      const link = linkOfRow(row);
      if (checkpoint && link.seq === checkpoint.seq) hashAtCheckpoint = link.hash;
      verifier.pushLink(link);
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
