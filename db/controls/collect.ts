import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { eq, sql } from 'drizzle-orm';
import { emitAudit, type AuditContext } from '../audit/emit.ts';
import { controls, evidenceSnapshots } from '../schema/controls.ts';
import type { Tx } from '../tenant.ts';
import { normalizeParameters, runSource } from './sources.ts';

export type Control = typeof controls.$inferSelect;
export type Snapshot = typeof evidenceSnapshots.$inferSelect;

/** SHA-256 (hex) of a snapshot's content: the bytes an evidence pack carries and verify-pack rehashes. */
export function contentHash(content: string) {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * Runs every evidence source the control is mapped to, in the caller's tenant
 * transaction, stores one immutable snapshot per source and records the
 * collection in the audit chain (with each snapshot's content hash, so a
 * snapshot altered later no longer matches the signed chain). Both commit or
 * neither does.
 */
export async function collectControl(tx: Tx, audit: AuditContext, control: Control, trigger: 'on_demand' | 'schedule'): Promise<Snapshot[]> {
  const collectedAt = new Date().toISOString();
  const snapshots: Snapshot[] = [];
  for (const mapping of control.evidence) {
    const parameters = normalizeParameters(mapping.source, mapping.parameters);
    const evidence = await runSource({ tx, orgId: control.orgId, now: collectedAt, signer: audit.signer }, mapping.source, parameters);
    const id = randomUUID();
    const document = {
      kind: 'kommit.evidence-snapshot/v1',
      id,
      orgId: control.orgId,
      control: { id: control.id, ref: control.ref, title: control.title },
      source: mapping.source,
      parameters,
      trigger,
      collectedAt,
      ...evidence,
    };
    // Canonical JSON (RFC 8785) of a JSON round trip: what is hashed is exactly what is stored and shipped.
    const content = canonicalize(JSON.parse(JSON.stringify(document)))!;
    const [row] = await tx
      .insert(evidenceSnapshots)
      .values({ orgId: control.orgId, id, controlId: control.id, source: mapping.source, parameters, passed: evidence.passed, trigger, collectedAt, content, contentHash: contentHash(content) })
      .returning();
    snapshots.push(row!);
  }
  if (control.scheduleMinutes) {
    await tx
      .update(controls)
      .set({ nextCollectionAt: sql`now() + make_interval(mins => ${control.scheduleMinutes})` })
      .where(eq(controls.id, control.id));
  }
  await emitAudit(tx, audit, {
    action: 'evidence.collect',
    targetType: 'control',
    targetId: control.id,
    data: { ref: control.ref, trigger, snapshots: snapshots.map((s) => ({ id: s.id, source: s.source, passed: s.passed, contentHash: s.contentHash })) },
  });
  return snapshots;
}
