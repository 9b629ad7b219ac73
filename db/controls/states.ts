import { and, eq, sql } from 'drizzle-orm';
import { controlFrameworks, controls } from '../schema/controls.ts';
import type { Tx } from '../tenant.ts';

export type ControlState = 'passing' | 'failing' | 'no_evidence' | 'not_applicable';

/**
 * Each control's state from the latest snapshot of each source it is mapped to
 * now. Postgres finds those latest snapshots, one index probe per mapping
 * (evidence_snapshots_control_idx, newest first), so the cost follows the
 * number of controls and mappings, not the length of the snapshot history;
 * jsonb equality matches parameters whatever their key order.
 */
export async function controlStates(tx: Tx) {
  const rows = await tx
    .select({ control: controls, framework: controlFrameworks.framework })
    .from(controls)
    .leftJoin(controlFrameworks, and(eq(controlFrameworks.orgId, controls.orgId), eq(controlFrameworks.id, controls.frameworkId)))
    .orderBy(controls.ref);
  const latest = await tx.execute<{ control_id: string; passed: (boolean | null)[]; last_collected_at: string | null }>(sql`
    select c.id as control_id,
           -- jsonb, not boolean[]: a boolean array's NULLs would come back as false.
           (select coalesce(jsonb_agg(newest.passed order by mapping.position), '[]')
            from jsonb_array_elements(c.evidence) with ordinality as mapping(value, position)
            left join lateral (
              select s.passed from evidence_snapshots s
              where s.control_id = c.id and s.source = mapping.value->>'source' and s.parameters = mapping.value->'parameters'
              order by s.collected_at desc limit 1
            ) newest on true) as passed,
           (select max(s.collected_at)::text from evidence_snapshots s where s.control_id = c.id) as last_collected_at
    from controls c`);
  const byControl = new Map(latest.map((row) => [row.control_id, row]));
  return rows.map(({ control, framework }) => {
    const found = byControl.get(control.id);
    // Per mapping, in order: null when it has no snapshot yet.
    const passed = found?.passed ?? control.evidence.map(() => null);
    const failingSources = control.evidence.filter((_, i) => passed[i] === false).map((m) => m.source);
    const state = !control.applicable || control.status === 'not_applicable'
      ? ('not_applicable' as ControlState)
      : failingSources.length
        ? ('failing' as const)
        : control.evidence.length === 0 || passed.some((p) => p === null)
          ? ('no_evidence' as const)
          : ('passing' as const);
    return { id: control.id, ref: control.ref, title: control.title, framework, status: control.status, state, lastCollectedAt: found?.last_collected_at ?? null, failingSources };
  });
}
