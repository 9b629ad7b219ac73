import { sql } from 'drizzle-orm';
import type { Tx } from '../tenant.ts';
import { GENESIS_HASH, recordHash, type AuditRecord } from './chain.ts';
import { signCheckpoint, type CheckpointSigner } from './checkpoint.ts';

export interface AuditActor {
  type: 'user' | 'api_key' | 'system' | 'webhook' | 'widget_visitor';
  id: string | null;
}

/** Who acted, from where: taken from the request by the caller. */
export interface AuditContext {
  orgId: string;
  actor: AuditActor;
  requestId?: string | null;
  ip?: string | null;
  signer?: CheckpointSigner;
}

export interface AuditEntry {
  /** Dotted name, e.g. project.create. */
  action: string;
  targetType?: string;
  targetId?: string;
  /** Before/after or payload snapshot; secrets are stripped before it is stored. */
  data?: Record<string, unknown>;
}

const SECRET_FIELD = /pass(word)?|secret|token|^key$|key_?hash|authorization|cookie/i;

/** Removes values that must never sit in an audit row, at any depth. */
export function stripSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_FIELD.test(k) ? '[redacted]' : stripSecrets(v)]),
    );
  }
  return value instanceof Date ? value.toISOString() : value;
}

const NOW_UTC = sql.raw(`to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

type Head = {
  seq: string | number;
  head_hash: Buffer;
  last_checkpoint_seq: string | number;
  last_checkpoint_at: string | null;
  now: string;
  checkpoint_age_minutes: number | null;
};

/**
 * Appends one row to the organization's chain inside the caller's transaction,
 * so the change and its audit row commit together or not at all. The chain head
 * row is locked FOR UPDATE: appends of one organization queue, others don't.
 */
export async function emitAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry) {
  const lockHead = () =>
    tx.execute<Head>(sql`
      select seq, head_hash, last_checkpoint_seq, last_checkpoint_at, ${NOW_UTC} as now,
             extract(epoch from (clock_timestamp() - last_checkpoint_at)) / 60 as checkpoint_age_minutes
      from audit_chain_heads where org_id = ${ctx.orgId} for update`);
  let [head] = await lockHead();
  if (!head) {
    // First append of this organization: create its head (a racing first append waits on the key).
    await tx.execute(sql`insert into audit_chain_heads (org_id, seq, head_hash) values (${ctx.orgId}, 0, ${GENESIS_HASH}) on conflict (org_id) do nothing`);
    [head] = await lockHead();
  }
  if (!head) throw new Error('audit chain head could not be created');

  const record: AuditRecord = {
    org_id: ctx.orgId,
    seq: Number(head.seq) + 1,
    occurred_at: head.now,
    actor_type: ctx.actor.type,
    actor_id: ctx.actor.id,
    action: entry.action,
    target_type: entry.targetType ?? null,
    target_id: entry.targetId ?? null,
    request_id: ctx.requestId ?? null,
    ip: ctx.ip ?? null,
    data: stripSecrets(entry.data ?? {}),
    prev_hash: Buffer.from(head.head_hash).toString('hex'),
  };
  const hash = recordHash(record);

  const signer = ctx.signer;
  const due =
    signer &&
    (record.seq - Number(head.last_checkpoint_seq) >= signer.everyAppends ||
      (head.checkpoint_age_minutes ?? Number.POSITIVE_INFINITY) >= signer.everyMinutes);
  const checkpoint = due ? signCheckpoint(signer, { orgId: ctx.orgId, seq: record.seq, headHash: hash, time: record.occurred_at }) : null;

  // One round trip for the row, the head and (when due) the checkpoint.
  const inserted = await tx.execute<{ seq: string }>(sql`
    with head as (
      update audit_chain_heads
      set seq = ${record.seq}, head_hash = ${hash}
          ${checkpoint ? sql`, last_checkpoint_seq = ${record.seq}, last_checkpoint_at = ${record.occurred_at}::timestamptz` : sql``}
      where org_id = ${ctx.orgId} and seq = ${record.seq - 1}
      returning org_id
    ), cp as (
      insert into audit_checkpoints (org_id, seq, head_hash, signed_at, key_name, note)
      select org_id, ${record.seq}, ${hash}, ${record.occurred_at}::timestamptz, ${signer?.keyName ?? ''}, ${checkpoint ?? ''}
      from head where ${checkpoint !== null}
    )
    insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash, hash)
    select org_id, ${record.seq}, ${record.occurred_at}::timestamptz, ${record.actor_type}, ${record.actor_id}, ${record.action},
           ${record.target_type}, ${record.target_id}, ${record.request_id}, ${record.ip}, ${JSON.stringify(record.data)}::jsonb,
           ${head.head_hash}, ${hash}
    from head
    returning seq`);
  // The head is locked, so this cannot happen short of a bug; fail closed if it does.
  if (inserted.length !== 1) throw new Error(`audit append for ${ctx.orgId} lost its chain head at seq ${record.seq - 1}`);
  return { seq: record.seq, hash };
}
