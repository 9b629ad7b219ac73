import type { Context } from 'hono';
import { emitAudit, emitAuditAhead, writeCheckpoint, type AuditContext, type AuditEntry } from '../db/audit/emit.ts';
import { afterCommit } from '../db/tenant.ts';
import { requestAddress } from './addresses.ts';
import type { AppEnv } from './env.ts';

/** Who is acting in this request, for the audit row. */
export function auditContext(c: Context<AppEnv>, orgId = c.var.org.id): AuditContext {
  const { auditSigner } = c.get('platform');
  const principal = c.get('principal');
  return {
    orgId,
    actor: principal?.kind === 'session' ? { type: 'user', id: principal.userId } : principal ? { type: 'api_key', id: principal.id } : { type: 'system', id: null },
    requestId: c.get('requestId'),
    ip: requestAddress(c) ?? null,
    signer: auditSigner,
  };
}

/** Organizations with a checkpoint being written by this process (one at a time is enough). */
const checkpointing = new Set<string>();

/**
 * Writes the governed action's audit row in the request's tenant transaction.
 * The append is sent at once but not waited for: it is answered together with
 * COMMIT, and if it fails the transaction rolls back and the request fails
 * (emitAuditAhead). Statements the handler makes after this still come after
 * the row. A checkpoint that falls due is signed once the row has committed,
 * in a short transaction of its own, before the response leaves.
 */
export async function audit(c: Context<AppEnv>, entry: AuditEntry) {
  const ctx = auditContext(c);
  const appended = emitAuditAhead(c.var.tx, ctx, entry);
  if (!appended) return void (await auditNow(c, entry));
  const { database, metrics, logger } = c.get('platform');
  afterCommit(c.var.tx, async () => {
    const row = await appended;
    metrics.auditAppends.inc();
    if (!row.checkpointDue || checkpointing.has(ctx.orgId)) return;
    checkpointing.add(ctx.orgId);
    try {
      await database.withTenant(ctx.orgId, (tx) => writeCheckpoint(tx, ctx, row));
    } catch (error) {
      // The row is committed either way; the next append finds the checkpoint still due.
      logger.warn({ err: error, orgId: ctx.orgId, seq: row.seq }, 'audit checkpoint not written');
    } finally {
      checkpointing.delete(ctx.orgId);
    }
  });
}

/**
 * audit() for a handler that needs the appended row (seq, hash) before it goes
 * on, or a checkpoint due at this row inside its own transaction.
 */
export async function auditNow(c: Context<AppEnv>, entry: AuditEntry) {
  const appended = await emitAudit(c.var.tx, auditContext(c), entry);
  countAppendOnCommit(c);
  return appended;
}

/** Counts an append in the request's transaction once that has committed: a rolled-back one appended nothing. */
export function countAppendOnCommit(c: Context<AppEnv>) {
  const { metrics } = c.get('platform');
  afterCommit(c.var.tx, async () => metrics.auditAppends.inc());
}
