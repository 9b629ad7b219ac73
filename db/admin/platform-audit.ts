import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { sql } from 'drizzle-orm';
import { GENESIS_HASH } from '../audit/chain.ts';
import { emitAudit, stripSecrets } from '../audit/emit.ts';
import type { Tx } from '../tenant.ts';

/** An operator's action: who, what, where from, and (for reading tenant content) why. */
export interface OperatorAction {
  /** The signed-in operator; a CLI run (granting operator rights) has no user and names itself in email. */
  operator: { userId: string | null; email?: string };
  action: string;
  /** The organization the action touches; its own chain then gets the row too. */
  orgId?: string | null;
  targetType?: string;
  targetId?: string;
  reason?: string;
  requestId?: string | null;
  ip?: string | null;
  data?: Record<string, unknown>;
}

/** A platform chain row as stored and as hashed: hashes in hex, time in UTC with microseconds. */
export interface PlatformRecord {
  seq: number;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  organization_id: string | null;
  target_type: string | null;
  target_id: string | null;
  reason: string | null;
  request_id: string | null;
  ip: string | null;
  data: unknown;
  prev_hash: string;
}

/** SHA-256(prev_hash || RFC 8785 canonical JSON of the record without its hash): the organizations' rule, on the platform's row shape. */
export function platformRecordHash(record: PlatformRecord) {
  return createHash('sha256').update(Buffer.from(record.prev_hash, 'hex')).update(canonicalize(record)!).digest();
}

const RECORD_COLUMNS = sql.raw(`
  seq::int8 as seq, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  actor_type, actor_id, action, organization_id::text as organization_id, target_type, target_id, reason,
  request_id, ip, data, encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash`);

type StoredRecord = Omit<PlatformRecord, 'seq'> & { seq: string | number; hash: string };

/**
 * Appends one row to the platform chain inside the caller's transaction. The
 * chain's last row is locked (an advisory lock serialises appends that find
 * the chain empty), so two operators never fork it; unique(prev_hash) and the
 * seq primary key back that up.
 */
async function appendPlatformRecord(tx: Tx, entry: OperatorAction) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('kommit-platform-audit', 0))`);
  const [last] = await tx.execute<{ seq: string; hash: string }>(sql`
    select seq::int8 as seq, encode(hash, 'hex') as hash from platform_audit_log order by seq desc limit 1`);
  // Microseconds as the database keeps them; JavaScript's clock has milliseconds.
  const occurredAt = new Date().toISOString().replace('Z', '000Z');
  const record: PlatformRecord = {
    seq: Number(last?.seq ?? 0) + 1,
    occurred_at: occurredAt,
    actor_type: entry.operator.userId ? 'operator' : 'system',
    actor_id: entry.operator.userId ?? entry.operator.email ?? null,
    action: entry.action,
    organization_id: entry.orgId ?? null,
    target_type: entry.targetType ?? null,
    target_id: entry.targetId ?? null,
    reason: entry.reason ?? null,
    request_id: entry.requestId ?? null,
    ip: entry.ip ?? null,
    data: stripSecrets(entry.data ?? {}),
    prev_hash: last?.hash ?? GENESIS_HASH.toString('hex'),
  };
  const hash = platformRecordHash(record);
  await tx.execute(sql`
    insert into platform_audit_log (seq, occurred_at, actor_type, actor_id, action, organization_id, target_type, target_id, reason, request_id, ip, data, prev_hash, hash)
    values (${record.seq}, ${record.occurred_at}::timestamptz, ${record.actor_type}, ${record.actor_id}, ${record.action}, ${record.organization_id},
            ${record.target_type}, ${record.target_id}, ${record.reason}, ${record.request_id}, ${record.ip}, ${JSON.stringify(record.data)}::jsonb,
            ${Buffer.from(record.prev_hash, 'hex')}, ${hash})`);
  return record.seq;
}

/**
 * Records an operator's action in the platform chain and, when it touches an
 * organization, in that organization's chain too (so its members see operator
 * access to their data). `tx` must be inside withTenant(entry.orgId) then:
 * both rows commit with the action or neither does.
 */
export async function auditOperator(tx: Tx, entry: OperatorAction) {
  const platformSeq = await appendPlatformRecord(tx, entry);
  if (entry.orgId) {
    await emitAudit(
      tx,
      { orgId: entry.orgId, actor: { type: 'operator', id: entry.operator.userId }, requestId: entry.requestId, ip: entry.ip },
      {
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        data: { ...entry.data, ...(entry.reason ? { reason: entry.reason } : {}), operator: entry.operator.email, platformSeq },
      },
    );
  }
  return platformSeq;
}

export interface PlatformChainReport {
  ok: boolean;
  rowsChecked: number;
  head: { seq: number; hash: string } | null;
  firstBreak: { seq: number; detail: string } | null;
}

/** Recomputes the platform chain page by page (constant memory) and reports the first broken link. */
export async function verifyPlatformChain(tx: Tx, pageSize = 2000): Promise<PlatformChainReport> {
  let prev: { seq: number; hash: string } | null = null;
  let checked = 0;
  for (;;) {
    const after: number = prev?.seq ?? 0;
    const rows: StoredRecord[] = await tx.execute<StoredRecord>(sql`
      select ${RECORD_COLUMNS} from platform_audit_log where seq > ${after} order by seq limit ${pageSize}`);
    for (const { hash, ...stored } of rows) {
      const record: PlatformRecord = { ...stored, seq: Number(stored.seq) };
      const expectedSeq: number = (prev?.seq ?? 0) + 1;
      const expectedPrev: string = prev?.hash ?? GENESIS_HASH.toString('hex');
      checked++;
      if (record.seq !== expectedSeq) {
        return { ok: false, rowsChecked: checked, head: prev, firstBreak: { seq: expectedSeq, detail: `seq ${expectedSeq} is missing` } };
      }
      if (record.prev_hash !== expectedPrev || platformRecordHash(record).toString('hex') !== hash) {
        return { ok: false, rowsChecked: checked, head: prev, firstBreak: { seq: record.seq, detail: `the row at seq ${record.seq} does not match its hash or its link` } };
      }
      prev = { seq: record.seq, hash };
    }
    if (rows.length < pageSize) return { ok: true, rowsChecked: checked, head: prev, firstBreak: null };
  }
}

/** The newest platform chain rows, newest first. */
export async function recentPlatformRecords(tx: Tx, limit = 100) {
  const rows = await tx.execute<StoredRecord>(sql`select ${RECORD_COLUMNS} from platform_audit_log order by seq desc limit ${limit}`);
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}
