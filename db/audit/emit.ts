import { sql } from 'drizzle-orm';
import { sendAhead, type Tx } from '../tenant.ts';
import canonicalize from 'canonicalize';
import { signCheckpoint, type CheckpointSigner } from './checkpoint.ts';

export interface AuditActor {
  type: 'user' | 'api_key' | 'system' | 'webhook' | 'widget_visitor' | 'operator';
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

/**
 * Field names whose values never go into an audit row, compared without case,
 * "_" or "-" (api_key, apiKey and Api-Key alike). Whole words, so `passages`
 * and `bypass` are kept.
 */
const SECRET_WORDS = /password|passwd|passphrase|secret|token|apikey|privatekey|accesskey|keyhash|credential|authorization|cookie|signature|bearer/;
const SECRET_NAMES = new Set(['key', 'pass', 'pwd']);

function isSecretField(name: string): boolean {
  const normal = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_NAMES.has(normal) || SECRET_WORDS.test(normal);
}

/**
 * Removes values that must never sit in an audit row, at any depth. Strings
 * (and names) are made well-formed as postgres.js stores them, a lone
 * surrogate becoming U+FFFD: the row then says what the change wrote, and its
 * canonical JSON (RFC 8785 refuses lone surrogates) can be made.
 */
export function stripSecrets(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), isSecretField(k) ? '[redacted]' : stripSecrets(v)]));
  }
  return value instanceof Date ? value.toISOString() : value;
}

const NOW_UTC = sql.raw(`to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

type Appended = {
  seq: string | number;
  hash: Buffer;
  occurred_at: string;
  last_checkpoint_seq: string | number;
  checkpoint_age_minutes: number | null;
};

/**
 * The canonical JSON of the row (see canonicalRecord) around the three values
 * only known once the head is locked: time, previous hash and seq. Postgres
 * fills them in and hashes, so the head is locked by the statement that also
 * moves it and writes the row, with no round trip in between.
 */
function canonicalParts(ctx: AuditContext, entry: AuditEntry, data: unknown) {
  const j = JSON.stringify;
  return {
    beforeTime:
      `{"action":${j(entry.action)},"actor_id":${j(ctx.actor.id)},"actor_type":${j(ctx.actor.type)},"data":${canonicalize(data)},` +
      `"ip":${j(ctx.ip ?? null)},"occurred_at":"`,
    beforePrevHash: `","org_id":${j(ctx.orgId)},"prev_hash":"`,
    beforeSeq: `","request_id":${j(ctx.requestId ?? null)},"seq":`,
    afterSeq: `,"target_id":${j(entry.targetId ?? null)},"target_type":${j(entry.targetType ?? null)}}`,
  };
}

/**
 * The append: locks the organization's chain head, moves it and writes the row,
 * all in one statement. Without a head it appends nothing and returns no row;
 * with `failWithoutHead` it fails instead (the row would be all nulls, which
 * the table refuses), for callers that cannot look at the result before COMMIT.
 */
function appendStatement(given: AuditContext, { data: rawData, ...named }: AuditEntry, options: { failWithoutHead: boolean }) {
  // Names and ids as they will be stored (see stripSecrets), so the hash is over the stored row.
  const wellFormed = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v.toWellFormed() : v])) as T;
  const ctx = { ...wellFormed(given), actor: wellFormed(given.actor) };
  const entry = wellFormed(named);
  const data = stripSecrets(rawData ?? {});
  const parts = canonicalParts(ctx, entry, data);
  const source = options.failWithoutHead
    ? sql`(values (1)) as one (x) left join (select next.* from next join moved using (org_id)) as next on true`
    : sql`next join moved using (org_id)`;
  return sql`
      with head as (
        select org_id, seq + 1 as seq, head_hash as prev_hash, last_checkpoint_seq, ${NOW_UTC} as occurred_at,
               extract(epoch from (clock_timestamp() - last_checkpoint_at)) / 60 as checkpoint_age_minutes
        from audit_chain_heads where org_id = ${ctx.orgId} for update
      ), next as (
        select head.*, sha256(prev_hash || convert_to(
                 ${parts.beforeTime} || occurred_at || ${parts.beforePrevHash} || encode(prev_hash, 'hex') ||
                 ${parts.beforeSeq} || seq::text || ${parts.afterSeq}, 'UTF8')) as hash
        from head
      ), moved as (
        update audit_chain_heads h set seq = next.seq, head_hash = next.hash
        from next where h.org_id = next.org_id
        returning h.org_id
      ), appended as (
        insert into audit_log (org_id, seq, occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, ip, data, prev_hash, hash)
        select next.org_id, next.seq, next.occurred_at::timestamptz, ${ctx.actor.type}, ${ctx.actor.id}, ${entry.action},
               ${entry.targetType ?? null}, ${entry.targetId ?? null}, ${ctx.requestId ?? null}, ${ctx.ip ?? null}, ${JSON.stringify(data)}::jsonb,
               next.prev_hash, next.hash
        from ${source}
        returning seq
      )
      select next.seq, next.hash, next.occurred_at, next.last_checkpoint_seq, next.checkpoint_age_minutes
      from next join appended using (seq)`;
}

/**
 * Appends one row to the organization's chain inside the caller's transaction,
 * so the change and its audit row commit together or not at all. The chain head
 * row is locked FOR UPDATE: appends of one organization queue, others don't.
 * The lock is taken by this one statement, which should be the caller's last
 * before COMMIT: the head stays locked only as long as that takes.
 */
export async function emitAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry) {
  const [appended] = await tx.execute<Appended>(appendStatement(ctx, entry, { failWithoutHead: false }));
  // Every organization has its head from its creation on (a trigger on
  // organizations, migration 0032); one gone missing is a fault: fail closed.
  if (!appended) throw new Error(`audit append for ${ctx.orgId} found no chain head`);
  const result = appendedResult(appended);
  if (checkpointDue(ctx.signer, appended)) await writeCheckpoint(tx, ctx, result);
  return result;
}

/**
 * emitAudit for a caller that needs nothing back before COMMIT (an HTTP
 * handler, through middleware/audit.ts): the append is sent at once and its
 * answer comes with COMMIT's (db/tenant.ts sendAhead), so the chain head is
 * locked only while Postgres runs the append and the commit, never across a
 * round trip to this process. Statements the caller makes afterwards still run
 * after it. Without the organization's head (made with the organization by a
 * trigger) the append fails and the transaction with it.
 *
 * Returns the appended row once committed; undefined for a transaction that
 * cannot send ahead, in which case the caller uses emitAudit.
 */
export function emitAuditAhead(tx: Tx, ctx: AuditContext, entry: AuditEntry) {
  const appended = sendAhead<Appended>(tx, appendStatement(ctx, entry, { failWithoutHead: true }))?.then(([row]) => {
    if (!row) throw new Error(`audit append for ${ctx.orgId} found no chain head`);
    return { ...appendedResult(row), checkpointDue: checkpointDue(ctx.signer, row) };
  });
  // A failed append fails the transaction (withTenant* rejects with it); the
  // caller may never look at this promise then.
  appended?.catch(() => {});
  return appended;
}

function appendedResult(appended: Appended) {
  return { seq: Number(appended.seq), hash: Buffer.from(appended.hash), occurredAt: appended.occurred_at };
}

function checkpointDue(signer: CheckpointSigner | undefined, appended: Appended) {
  return (
    !!signer &&
    (Number(appended.seq) - Number(appended.last_checkpoint_seq) >= signer.everyAppends ||
      (appended.checkpoint_age_minutes ?? Number.POSITIVE_INFINITY) >= signer.everyMinutes)
  );
}

/**
 * Signs the head at `appended` and stores the checkpoint. Run in the append's
 * own transaction by emitAudit, or in a transaction of its own right after the
 * append committed (emitAuditAhead's callers): either way it signs a row that
 * is, or will be, committed, and a checkpoint written later than another one
 * never moves the head's record of the last checkpoint back.
 */
export async function writeCheckpoint(tx: Tx, ctx: Pick<AuditContext, 'orgId' | 'signer'>, appended: { seq: number; hash: Buffer; occurredAt: string }) {
  const signer = ctx.signer;
  if (!signer) return;
  const { seq, hash, occurredAt } = appended;
  const note = signCheckpoint(signer, { orgId: ctx.orgId, seq, headHash: hash, time: occurredAt });
  await tx.execute(sql`
      with head as (
        update audit_chain_heads
        set last_checkpoint_seq = greatest(last_checkpoint_seq, ${seq}),
            last_checkpoint_at = greatest(last_checkpoint_at, ${occurredAt}::timestamptz)
        where org_id = ${ctx.orgId}
        returning org_id
      )
      insert into audit_checkpoints (org_id, seq, head_hash, signed_at, key_name, note)
      select org_id, ${seq}, ${hash}, ${occurredAt}::timestamptz, ${signer.keyName}, ${note}
      from head
      on conflict (org_id, seq) do nothing`);
}
