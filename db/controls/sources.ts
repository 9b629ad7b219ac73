import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { CheckpointSigner } from '../audit/checkpoint.ts';
import { readChain } from '../audit/read.ts';
import { hasRoleAtLeast } from '../member-roles.ts';
import type { Tx } from '../tenant.ts';

/**
 * Evidence sources: named, parameterised queries over the platform's own data.
 * Each runs inside the organization's tenant transaction (so row-level
 * security bounds what it can see) and returns what it found, whether that
 * meets the control's expectation, and the rows the verdict rests on.
 */
export interface EvidenceResult {
  passed: boolean;
  /** One sentence a reviewer reads first. */
  summary: string;
  /** The figures behind the verdict (period, counts, thresholds). */
  result: Record<string, unknown>;
  rows: Record<string, unknown>[];
}

interface SourceContext {
  tx: Tx;
  orgId: string;
  /** Collection time, ISO 8601: every period ends here. */
  now: string;
  /** The audit signer, whose key the latest checkpoint's note must verify under. */
  signer?: CheckpointSigner;
}

interface EvidenceSource<S extends z.ZodType> {
  description: string;
  parameters: S;
  run(ctx: SourceContext, parameters: z.infer<S>): Promise<EvidenceResult>;
}

const periodDays = z.number().int().min(1).max(3650).default(90);
const MAX_ROWS = 1000;

function since(now: string, days: number) {
  return new Date(Date.parse(now) - days * 86_400_000).toISOString();
}

const define = <S extends z.ZodType>(source: EvidenceSource<S>) => source;

export const evidenceSources = {
  audit_chain: define({
    description: 'The audit chain recomputed end to end, and its latest signed checkpoint.',
    parameters: z.strictObject({ requireCheckpoint: z.boolean().default(true) }),
    async run({ tx, orgId, signer }, p) {
      const report = await readChain(tx, orgId, { signer });
      const [checkpoint] = await tx.execute<{ seq: string; note: string; signed_at: string }>(
        sql`select seq::text as seq, note, signed_at from audit_checkpoints order by seq desc limit 1`,
      );
      const passed = report.ok && (!p.requireCheckpoint || !!checkpoint);
      const summary = !report.ok
        ? `The chain is broken: ${report.firstBreak?.detail}.`
        : checkpoint
          ? `The chain verifies (${report.rowsChecked} rows) and matches the signed checkpoint at seq ${checkpoint.seq}.`
          : `The chain verifies (${report.rowsChecked} rows) but no signed checkpoint exists yet.`;
      return {
        passed,
        summary,
        result: { ok: report.ok, rowsChecked: report.rowsChecked, head: report.head, firstBreak: report.firstBreak, requireCheckpoint: p.requireCheckpoint },
        rows: checkpoint ? [{ seq: Number(checkpoint.seq), signedAt: checkpoint.signed_at, note: checkpoint.note }] : [],
      };
    },
  }),

  access_review: define({
    description: 'Membership and role changes (invitations, joins, role changes, removals) in the period, for an access review.',
    parameters: z.strictObject({ periodDays, maxChanges: z.number().int().min(0).optional() }),
    async run({ tx, now }, p) {
      const from = since(now, p.periodDays);
      const rows = await tx.execute<Record<string, unknown>>(sql`
        select seq::int8 as seq, occurred_at, action, actor_type, actor_id, target_id, data
        from audit_log where action like 'member.%' and occurred_at > ${from}::timestamptz and occurred_at <= ${now}::timestamptz
        order by seq limit ${MAX_ROWS}`);
      const count = rows.length;
      const passed = p.maxChanges === undefined || count <= p.maxChanges;
      return {
        passed,
        summary: `${count} membership or role change(s) in the last ${p.periodDays} days${p.maxChanges === undefined ? '' : ` (at most ${p.maxChanges} expected)`}.`,
        result: { from, to: now, changes: count, maxChanges: p.maxChanges ?? null },
        rows: [...rows].map((r) => ({ ...r, seq: Number(r.seq) })),
      };
    },
  }),

  api_key_age: define({
    description: 'Active API keys older than the allowed age.',
    parameters: z.strictObject({ maxAgeDays: z.number().int().min(1).max(3650).default(90) }),
    async run({ tx, now }, p) {
      const cutoff = since(now, p.maxAgeDays);
      const rows = await tx.execute<Record<string, unknown>>(sql`
        select id, name, prefix, created_at, last_used_at
        from api_keys where revoked_at is null and created_at < ${cutoff}::timestamptz order by created_at limit ${MAX_ROWS}`);
      return {
        passed: rows.length === 0,
        summary: rows.length === 0 ? `No active API key is older than ${p.maxAgeDays} days.` : `${rows.length} active API key(s) older than ${p.maxAgeDays} days.`,
        result: { maxAgeDays: p.maxAgeDays, cutoff, staleKeys: rows.length },
        rows: [...rows],
      };
    },
  }),

  human_oversight: define({
    description: 'Runs of one workflow in the period: every review and approval step decided must have been decided by a signed-in member holding the required role.',
    parameters: z.strictObject({ workflowId: z.uuid(), periodDays, minCompletedRuns: z.number().int().min(0).default(1) }),
    async run({ tx, now }, p) {
      const from = since(now, p.periodDays);
      const [workflow] = await tx.execute<{ id: string; name: string }>(sql`select id, name from workflows where id = ${p.workflowId}`);
      if (!workflow) return { passed: false, summary: 'The workflow this control is mapped to does not exist.', result: { workflowId: p.workflowId }, rows: [] };
      // Every decided human step of the runs in the period, with the decision that closed it.
      const rows = await tx.execute<{ run_id: string; run_status: string; step: number; name: string; kind: string; required_role: string; actor_type: string | null; role: string | null; decision_event_id: string | null }>(sql`
        select r.id as run_id, r.status as run_status, s.ordinality - 1 as step, s.value->>'name' as name, s.value->>'kind' as kind,
               s.value->>'requiredRole' as required_role, d.actor_type, d.metadata->>'role' as role, d.id as decision_event_id
        from workflow_runs r
        join workflow_versions v on v.workflow_id = r.workflow_id and v.version = r.version
        cross join lateral jsonb_array_elements(v.steps) with ordinality s
        left join decision_events d on d.workflow_run_id = r.id and d.workflow_step = s.ordinality - 1
        where r.workflow_id = ${p.workflowId} and r.created_at > ${from}::timestamptz and r.created_at <= ${now}::timestamptz
          and s.value->>'kind' <> 'automated'
          and (s.ordinality - 1 < r.current_step or (r.status = 'rejected' and s.ordinality - 1 = r.current_step))
        order by r.created_at, r.id, step
        limit ${MAX_ROWS}`);
      const checked = [...rows].map((r) => ({ ...r, step: Number(r.step), ok: r.actor_type === 'user' && hasRoleAtLeast(r.role, r.required_role) }));
      const [counts] = await tx.execute<{ completed: number }>(sql`
        select count(*)::int as completed from workflow_runs
        where workflow_id = ${p.workflowId} and status = 'completed' and created_at > ${from}::timestamptz and created_at <= ${now}::timestamptz`);
      const bad = checked.filter((r) => !r.ok).length;
      const completed = counts?.completed ?? 0;
      const passed = bad === 0 && completed >= p.minCompletedRuns;
      return {
        passed,
        summary: bad
          ? `${bad} human step(s) of "${workflow.name}" were not decided by a member with the required role.`
          : `${checked.length} human step(s) of "${workflow.name}" decided by members with the required role; ${completed} completed run(s) (at least ${p.minCompletedRuns} expected).`,
        result: { workflowId: p.workflowId, from, to: now, stepsChecked: checked.length, violations: bad, completedRuns: completed, minCompletedRuns: p.minCompletedRuns },
        rows: checked,
      };
    },
  }),

  decision_rationale: define({
    description: 'Decisions recorded in one project in the period, and whether each states its rationale.',
    parameters: z.strictObject({ projectId: z.uuid(), periodDays, minDecisions: z.number().int().min(0).default(1) }),
    async run({ tx, now }, p) {
      const from = since(now, p.periodDays);
      const rows = await tx.execute<{ id: string; title: string; created_at: string; has_rationale: boolean }>(sql`
        select id, title, created_at, coalesce(length(trim(rationale)), 0) > 0 as has_rationale
        from decision_events where project_id = ${p.projectId} and kind = 'decision' and status = 'active'
          and created_at > ${from}::timestamptz and created_at <= ${now}::timestamptz
        order by created_at limit ${MAX_ROWS}`);
      const missing = rows.filter((r) => !r.has_rationale).length;
      const passed = missing === 0 && rows.length >= p.minDecisions;
      return {
        passed,
        summary: `${rows.length} decision(s) in the last ${p.periodDays} days, ${missing} without a rationale (at least ${p.minDecisions} expected).`,
        result: { projectId: p.projectId, from, to: now, decisions: rows.length, withoutRationale: missing, minDecisions: p.minDecisions },
        rows: [...rows],
      };
    },
  }),

  data_deletions: define({
    description: 'Deletions of tenant data carried out in the period, as the audit log records them.',
    parameters: z.strictObject({ periodDays, minimum: z.number().int().min(0).default(0) }),
    async run({ tx, now }, p) {
      const from = since(now, p.periodDays);
      const rows = await tx.execute<Record<string, unknown>>(sql`
        select seq::int8 as seq, occurred_at, action, actor_type, actor_id, target_type, target_id
        from audit_log where (action like '%.delete' or action = 'api_key.revoke')
          and occurred_at > ${from}::timestamptz and occurred_at <= ${now}::timestamptz
        order by seq limit ${MAX_ROWS}`);
      return {
        passed: rows.length >= p.minimum,
        summary: `${rows.length} deletion(s) carried out in the last ${p.periodDays} days (at least ${p.minimum} expected).`,
        result: { from, to: now, deletions: rows.length, minimum: p.minimum },
        rows: [...rows].map((r) => ({ ...r, seq: Number(r.seq) })),
      };
    },
  }),

  log_retention: define({
    description: 'Whether the audit log still holds everything back to its first row, or at least the configured minimum period.',
    parameters: z.strictObject({ minimumDays: z.number().int().min(1).max(36500).default(183) }),
    async run({ tx, now }, p) {
      const [oldest] = await tx.execute<{ seq: string; occurred_at: string }>(sql`select seq::text as seq, occurred_at from audit_log order by seq limit 1`);
      const cutoff = since(now, p.minimumDays);
      // The platform keeps audit rows until the organization is deleted: a chain
      // that still starts at seq 1 has lost nothing, however young it is.
      const complete = !oldest || oldest.seq === '1';
      const oldEnough = !!oldest && Date.parse(oldest.occurred_at) <= Date.parse(cutoff);
      const passed = complete || oldEnough;
      return {
        passed,
        summary: passed
          ? `Audit rows are kept ${complete ? 'from the first row on' : `for at least ${p.minimumDays} days`}.`
          : `The oldest audit row kept (seq ${oldest?.seq}) is younger than ${p.minimumDays} days and earlier rows are gone.`,
        result: { minimumDays: p.minimumDays, cutoff, oldestSeq: oldest ? Number(oldest.seq) : null, oldestAt: oldest?.occurred_at ?? null, retainedFromStart: complete, platformRetention: 'until the organization is deleted' },
        rows: oldest ? [{ seq: Number(oldest.seq), occurredAt: oldest.occurred_at }] : [],
      };
    },
  }),
} satisfies Record<string, EvidenceSource<z.ZodType>>;

export type EvidenceSourceName = keyof typeof evidenceSources;
export const evidenceSourceNames = Object.keys(evidenceSources) as EvidenceSourceName[];

export interface MappingIssue {
  path: (string | number)[];
  message: string;
}

/** Problems with one mapping (unknown source, parameters of the wrong type), with paths relative to the mapping. */
export function validateMapping(mapping: { source: string; parameters: unknown }): MappingIssue[] {
  const source = evidenceSources[mapping.source as EvidenceSourceName];
  if (!source) return [{ path: ['source'], message: `unknown evidence source; known: ${evidenceSourceNames.join(', ')}` }];
  const parsed = source.parameters.safeParse(mapping.parameters);
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: ['parameters', ...(i.path as (string | number)[])], message: i.message }));
}

/** The parameters with their defaults filled in (the mapping was validated before it was stored). */
export function normalizeParameters(source: string, parameters: unknown): Record<string, unknown> {
  return evidenceSources[source as EvidenceSourceName].parameters.parse(parameters) as Record<string, unknown>;
}

/** Mappings as stored: each carries its defaults, so a snapshot shows every parameter that applied. */
export function normalizeMappings(evidence: { source: string; parameters: Record<string, unknown> }[]) {
  return evidence.map((m) => ({ source: m.source, parameters: normalizeParameters(m.source, m.parameters) }));
}

/**
 * When a control is first collected: by the worker's next pass if it is
 * scheduled and mapped to evidence, else never. The database's clock, which
 * the worker compares it with.
 */
export function firstCollectionAt(scheduleMinutes: number | null | undefined, mappings: number) {
  return scheduleMinutes && mappings > 0 ? sql`now()` : null;
}

export async function runSource(ctx: SourceContext, source: string, parameters: unknown): Promise<EvidenceResult> {
  const definition = evidenceSources[source as EvidenceSourceName] as EvidenceSource<z.ZodType>;
  return definition.run(ctx, definition.parameters.parse(parameters));
}
