import { and, eq, sql } from 'drizzle-orm';
import { controlFrameworks, controls } from '../schema/controls.ts';
import type { Tx } from '../tenant.ts';

export type ControlState = 'passing' | 'failing' | 'no_evidence' | 'not_applicable';

/** Each control's state from the latest snapshot of each source it is mapped to now. */
export async function controlStates(tx: Tx) {
  const rows = await tx
    .select({ control: controls, framework: controlFrameworks.framework })
    .from(controls)
    .leftJoin(controlFrameworks, and(eq(controlFrameworks.orgId, controls.orgId), eq(controlFrameworks.id, controls.frameworkId)))
    .orderBy(controls.ref);
  const latest = await tx.execute<{ control_id: string; source: string; parameters: unknown; passed: boolean; collected_at: string }>(sql`
    select distinct on (control_id, source, parameters) control_id, source, parameters, passed, collected_at::text as collected_at
    from evidence_snapshots order by control_id, source, parameters, collected_at desc`);
  return rows.map(({ control, framework }) => {
    const mine = latest.filter((s) => s.control_id === control.id);
    // Only snapshots of the mappings the control has now count.
    const current = control.evidence.map((m) => mine.find((s) => s.source === m.source && JSON.stringify(sortKeys(s.parameters)) === JSON.stringify(sortKeys(m.parameters))));
    const failingSources = control.evidence.filter((_, i) => current[i] && !current[i]!.passed).map((m) => m.source);
    const collected = current.filter((s) => s !== undefined);
    const state = !control.applicable || control.status === 'not_applicable'
      ? ('not_applicable' as ControlState)
      : failingSources.length
        ? ('failing' as const)
        : collected.length === 0 || collected.length < control.evidence.length
          ? ('no_evidence' as const)
          : ('passing' as const);
    const lastCollectedAt = mine.map((s) => s.collected_at).sort().at(-1) ?? null;
    return { id: control.id, ref: control.ref, title: control.title, framework, status: control.status, state, lastCollectedAt, failingSources };
  });
}

function sortKeys(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

