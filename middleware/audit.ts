import type { Context } from 'hono';
import { emitAudit, type AuditContext, type AuditEntry } from '../db/audit/emit.ts';
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

/** Writes the governed action's audit row in the request's tenant transaction. */
export async function audit(c: Context<AppEnv>, entry: AuditEntry) {
  const appended = await emitAudit(c.var.tx, auditContext(c), entry);
  c.get('platform').metrics.auditAppends.inc();
  return appended;
}
