import { and, eq, sql } from 'drizzle-orm';
import { controlFrameworks, controls, evidenceSnapshots } from '../schema/controls.ts';
import type { Tx } from '../tenant.ts';

export type ControlState = 'passing' | 'failing' | 'no_evidence' | 'not_applicable';

/**
 * Per mapping of the control, in order: whether the latest snapshot of that
 * source with those parameters passed, or null without one. jsonb, not
 * boolean[], because a boolean array's NULLs would come back as false; jsonb
 * equality matches parameters whatever their key order.
 */
const latestVerdicts = sql<(boolean | null)[]>`(
  select coalesce(jsonb_agg(newest.passed order by mapping.position), '[]')
  from jsonb_array_elements(${controls.evidence}) with ordinality as mapping(value, position)
  left join lateral (
    select s.passed from ${evidenceSnapshots} s
    where s.org_id = ${controls.orgId} and s.control_id = ${controls.id}
      and s.source = mapping.value->>'source' and s.parameters = mapping.value->'parameters'
    order by s.collected_at desc limit 1
  ) newest on true)`;

const lastCollectedAt = sql<string | null>`(
  select max(s.collected_at) from ${evidenceSnapshots} s where s.org_id = ${controls.orgId} and s.control_id = ${controls.id})`;

/**
 * Each control's state from the latest snapshot of each source it is mapped to
 * now. One statement, so the mappings and the verdicts come from the same
 * snapshot of the data even while a control is being edited; Postgres finds
 * the latest snapshots by index (evidence_snapshots_control_idx, newest
 * first), so the cost follows the controls and their mappings rather than the
 * whole snapshot history.
 */
export async function controlStates(tx: Tx) {
  const rows = await tx
    .select({ control: controls, framework: controlFrameworks.framework, verdicts: latestVerdicts, lastCollectedAt })
    .from(controls)
    .leftJoin(controlFrameworks, and(eq(controlFrameworks.orgId, controls.orgId), eq(controlFrameworks.id, controls.frameworkId)))
    .orderBy(controls.ref);
  return rows.map(({ control, framework, verdicts, lastCollectedAt }) => {
    const failingSources = control.evidence.filter((_, i) => verdicts[i] === false).map((m) => m.source);
    const state = !control.applicable || control.status === 'not_applicable'
      ? ('not_applicable' as ControlState)
      : failingSources.length
        ? ('failing' as const)
        : control.evidence.length === 0 || control.evidence.some((_, i) => verdicts[i] !== true)
          ? ('no_evidence' as const)
          : ('passing' as const);
    return { id: control.id, ref: control.ref, title: control.title, framework, status: control.status, state, lastCollectedAt, failingSources };
  });
}
