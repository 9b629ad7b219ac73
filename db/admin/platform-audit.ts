import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { sql } from 'drizzle-orm';
import { ChainVerifier, checkAgainstCheckpoint, GENESIS_HASH, type VerifyResult } from '../audit/chain.ts';
import { signCheckpoint, storedCheckpointProblem, type CheckpointSigner } from '../audit/checkpoint.ts';
import { emitAudit, stripSecrets } from '../audit/emit.ts';
import { hashedTimeText } from '../audit/read.ts';
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
  /**
   * What the platform row keeps instead of `data`, when `data` holds the
   * organization's content (an imported article's text, say): the platform
   * chain outlives the organization, so tenant content goes only into the
   * organization's own chain, which is deleted with it.
   */
  platformData?: Record<string, unknown>;
  /**
   * Why the organization's own chain cannot take the row (its deletion was
   * requested: the chain goes with it, and the org.delete worker may have
   * removed its head already). The row then goes into the platform chain
   * only, still naming the organization, and says why in its data.
   */
  notInOrganizationChain?: string;
  /** Signs a checkpoint of the platform chain when one is due (and of the organization's, likewise). */
  signer?: CheckpointSigner;
}

/** The origin line of the platform chain's signed checkpoints: kommit/audit/platform. */
export const PLATFORM_CHAIN = 'platform';

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
  seq::int8 as seq, ${hashedTimeText('occurred_at')} as occurred_at,
  actor_type, actor_id, action, organization_id::text as organization_id, target_type, target_id, reason,
  request_id, ip, data, encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash`);

type StoredRecord = Omit<PlatformRecord, 'seq'> & { seq: string | number; hash: string };

/**
 * Appends one row to the platform chain inside the caller's transaction.
 * Appends queue on a transaction-scoped advisory lock (held to commit), so two
 * operators never fork the chain; the seq primary key and unique(prev_hash)
 * back that up. Signs a checkpoint when one is due.
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
    data: stripSecrets(entry.platformData ?? entry.data ?? {}),
    prev_hash: last?.hash ?? GENESIS_HASH.toString('hex'),
  };
  const hash = platformRecordHash(record);
  await tx.execute(sql`
    insert into platform_audit_log (seq, occurred_at, actor_type, actor_id, action, organization_id, target_type, target_id, reason, request_id, ip, data, prev_hash, hash)
    values (${record.seq}, ${record.occurred_at}::timestamptz, ${record.actor_type}, ${record.actor_id}, ${record.action}, ${record.organization_id},
            ${record.target_type}, ${record.target_id}, ${record.reason}, ${record.request_id}, ${record.ip}, ${JSON.stringify(record.data)}::jsonb,
            ${Buffer.from(record.prev_hash, 'hex')}, ${hash})`);
  if (entry.signer) await checkpointIfDue(tx, entry.signer, record.seq, hash, record.occurred_at);
  return { seq: record.seq, hash: hash.toString('hex') };
}

async function checkpointIfDue(tx: Tx, signer: CheckpointSigner, seq: number, hash: Buffer, time: string) {
  const [last] = await tx.execute<{ seq: string; age_minutes: number }>(sql`
    select seq::int8 as seq, extract(epoch from (now() - signed_at)) / 60 as age_minutes from platform_audit_checkpoints order by seq desc limit 1`);
  const due = !last || seq - Number(last.seq) >= signer.everyAppends || last.age_minutes >= signer.everyMinutes;
  if (!due) return;
  const note = signCheckpoint(signer, { orgId: PLATFORM_CHAIN, seq, headHash: hash, time });
  await tx.execute(sql`
    insert into platform_audit_checkpoints (seq, head_hash, signed_at, key_name, note)
    values (${seq}, ${hash}, ${time}::timestamptz, ${signer.keyName}, ${note})`);
}

/**
 * Records an operator's action in the platform chain and, when it touches an
 * organization, in that organization's chain too (so its members see operator
 * access to their data), unless `notInOrganizationChain` says why it cannot.
 * `tx` must be inside withTenant(entry.orgId) then: both rows commit with the
 * action or neither does.
 */
export async function auditOperator(tx: Tx, entry: OperatorAction) {
  if (entry.notInOrganizationChain) {
    const platformData = { ...(entry.platformData ?? entry.data), notInOrganizationChain: entry.notInOrganizationChain };
    return (await appendPlatformRecord(tx, { ...entry, platformData })).seq;
  }
  const platform = await appendPlatformRecord(tx, entry);
  if (entry.orgId) {
    // The platform row's seq and hash go into the organization's chain too:
    // the customer's own checkpoints then anchor the platform chain as well.
    await emitAudit(
      tx,
      {
        orgId: entry.orgId,
        // A signed-in operator, or an operator CLI (which names itself).
        actor: entry.operator.userId ? { type: 'operator', id: entry.operator.userId } : { type: 'system', id: entry.operator.email ?? null },
        requestId: entry.requestId,
        ip: entry.ip,
        signer: entry.signer,
      },
      {
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        data: { ...entry.data, ...(entry.reason ? { reason: entry.reason } : {}), operator: entry.operator.email, platformSeq: platform.seq, platformHash: platform.hash },
      },
    );
  }
  return platform.seq;
}

export interface PlatformChainReport extends VerifyResult {
  /** The latest stored checkpoint the chain was held against, if any. */
  checkpoint: { seq: number; hash: string } | null;
}

/**
 * Recomputes the platform chain row by row, with the organizations' verifier
 * (so a break is classified the same way: altered, missing, reordered,
 * inserted), and holds its end against the latest signed checkpoint, which is
 * what shows a cut-off tail. With a verifier key, the checkpoint's signature is
 * checked first.
 */
export async function verifyPlatformChain(tx: Tx, options: { verifier?: CheckpointSigner; pageSize?: number } = {}): Promise<PlatformChainReport> {
  const pageSize = options.pageSize ?? 2000;
  const [stored] = await tx.execute<{ seq: string; hash: string; note: string }>(sql`
    select seq::int8 as seq, encode(head_hash, 'hex') as hash, note from platform_audit_checkpoints order by seq desc limit 1`);
  const checkpoint = stored ? { seq: Number(stored.seq), hash: stored.hash } : null;
  const refused = (detail: string): PlatformChainReport => ({ ok: false, rowsChecked: 0, head: null, firstBreak: { kind: 'altered', seq: checkpoint!.seq, detail }, checkpoint });
  const unsigned = stored && options.verifier ? storedCheckpointProblem({ ...checkpoint!, note: stored.note }, options.verifier, PLATFORM_CHAIN) : null;
  if (unsigned) return refused(unsigned);
  const verifier = new ChainVerifier();
  let hashAtCheckpoint: string | null = null;
  for (let after = 0; !verifier.failed; ) {
    const rows: StoredRecord[] = await tx.execute<StoredRecord>(sql`
      select ${RECORD_COLUMNS} from platform_audit_log where seq > ${after} order by seq limit ${pageSize}`);
    for (const { hash, ...stored } of rows) {
      const record: PlatformRecord = { ...stored, seq: Number(stored.seq) };
      if (checkpoint && record.seq === checkpoint.seq) hashAtCheckpoint = hash;
      verifier.pushLink({ seq: record.seq, prev_hash: record.prev_hash, hash, canonical: canonicalize(record)! });
      after = record.seq;
    }
    if (rows.length < pageSize) break;
  }
  const result = verifier.finish();
  const cut = result.ok && checkpoint ? checkAgainstCheckpoint(result, checkpoint, hashAtCheckpoint) : null;
  return { ...result, ok: result.ok && !cut, firstBreak: result.firstBreak ?? cut, checkpoint };
}

/** The newest platform chain rows, newest first. */
export async function recentPlatformRecords(tx: Tx, limit = 100) {
  const rows = await tx.execute<StoredRecord>(sql`select ${RECORD_COLUMNS} from platform_audit_log order by seq desc limit ${limit}`);
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/**
 * Each organization's latest on-demand verification, as the platform chain
 * recorded it (operator.audit_verify): when, and what it found.
 */
export async function lastVerifications(tx: Tx) {
  const rows = await tx.execute<{ organization_id: string; occurred_at: string; ok: boolean; rows_checked: number; break_seq: number | null; break_kind: string | null }>(sql`
    select distinct on (organization_id) organization_id::text as organization_id,
           to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as occurred_at,
           (data->>'ok')::boolean as ok, (data->>'rowsChecked')::int as rows_checked,
           (data->'firstBreak'->>'seq')::int as break_seq, data->'firstBreak'->>'kind' as break_kind
    from platform_audit_log where action = 'operator.audit_verify' and organization_id is not null
    order by organization_id, seq desc`);
  return new Map(rows.map((r) => [r.organization_id, r]));
}

/** The newest signed checkpoint note of the platform chain, if any. */
export async function latestPlatformCheckpoint(tx: Tx) {
  const [row] = await tx.execute<{ note: string }>(sql`select note from platform_audit_checkpoints order by seq desc limit 1`);
  return row?.note ?? null;
}
