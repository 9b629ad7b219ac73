import { sql } from 'drizzle-orm';
import type { AuditActor, AuditEntry } from './audit/emit.ts';
import { decisionEvents } from './schema/decisions.ts';
import { queueIndex } from './search/index.ts';
import type { Tx } from './tenant.ts';

export const MAX_DECISION_METADATA_BYTES = 16 * 1024;
/** Deeper metadata is refused before anything serializes it: JSON.stringify (and so the insert and the audit row) throws a RangeError a few thousand levels down. */
export const MAX_DECISION_METADATA_DEPTH = 32;

/** Why metadata cannot be stored (too deep, a number JSON cannot hold, too large), or null when it can. */
export function metadataRefusal(metadata: Record<string, unknown> | undefined): string | null {
  if (!metadata) return null;
  const shape = shapeProblem(metadata, MAX_DECISION_METADATA_DEPTH);
  if (shape === 'deep') return `metadata is limited to ${MAX_DECISION_METADATA_DEPTH} levels of nesting.`;
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify then writes as null: stored, it would silently be another value.
  if (shape === 'infinite') return 'metadata holds a number too large to store (it would be read as infinity).';
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_DECISION_METADATA_BYTES) return `metadata is limited to ${MAX_DECISION_METADATA_BYTES} bytes of JSON.`;
  return null;
}

/**
 * Whether objects and arrays nest more than `limit` levels, or a number is
 * not finite; iterative, so depth cannot overflow the stack here either.
 */
function shapeProblem(value: unknown, limit: number): 'deep' | 'infinite' | null {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length) {
    const [current, depth] = pending.pop()!;
    if (typeof current === 'number' && !Number.isFinite(current)) return 'infinite';
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return 'deep';
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return null;
}

/** Input a decision event can never be stored with, whoever sends it. */
export class DecisionEventRefused extends Error {}

export interface NewDecisionEvent {
  orgId: string;
  projectId: string;
  kind: (typeof decisionEvents.$inferInsert)['kind'];
  title: string;
  rationale?: string | null;
  outcome?: string | null;
  metadata?: Record<string, unknown>;
  /** An earlier active or conflicting event of the project, checked and locked by the caller: set superseded. */
  supersedes?: string | null;
  /** An earlier active or conflicting event of the project, checked and locked by the caller: the new event and it are set conflicting. */
  conflictsWith?: string | null;
  /** The workflow run and step this decision completed or rejected. */
  workflowRunId?: string | null;
  workflowStep?: number | null;
  actor: AuditActor;
}

/** A decision event as the API shows it and as its audit rows record it. */
export function toDecisionEvent(row: typeof decisionEvents.$inferSelect) {
  return {
    id: row.id,
    projectId: row.projectId,
    kind: row.kind,
    title: row.title,
    rationale: row.rationale,
    outcome: row.outcome,
    actor: { type: row.actorType, id: row.actorId },
    metadata: row.metadata as Record<string, unknown>,
    status: row.status,
    supersedes: row.supersedes,
    conflictsWith: row.conflictsWith,
    createdAt: row.createdAt,
  };
}

/**
 * Records a decision event, however it arrives (the API, a webhook delivery,
 * a workflow step): the row, the superseded or conflicting earlier one marked,
 * its search indexing queued, and the audit entries every path records for it
 * (the caller emits them, in order, with its own context): `audit` for the new
 * event, and `earlier` for the status change of the event it supersedes or
 * conflicts with, when it does.
 * The caller has checked the project and that earlier event under row-level
 * security.
 */
export async function insertDecisionEvent(
  tx: Tx,
  input: NewDecisionEvent,
): Promise<{ event: ReturnType<typeof toDecisionEvent>; audit: AuditEntry; earlier?: AuditEntry }> {
  const refusal = metadataRefusal(input.metadata);
  if (refusal) throw new DecisionEventRefused(refusal);
  const [row] = await tx
    .insert(decisionEvents)
    .values({
      orgId: input.orgId,
      projectId: input.projectId,
      kind: input.kind,
      title: input.title,
      rationale: input.rationale ?? null,
      outcome: input.outcome ?? null,
      actorType: input.actor.type,
      actorId: input.actor.id,
      metadata: input.metadata ?? {},
      supersedes: input.supersedes ?? null,
      conflictsWith: input.conflictsWith ?? null,
      ...(input.conflictsWith ? { status: 'conflicting' as const } : {}),
      workflowRunId: input.workflowRunId ?? null,
      workflowStep: input.workflowStep ?? null,
    })
    .returning();
  // The earlier event's status change is a change of its own, with its own audit row.
  // One statement: the row joined to itself in FROM is read as it was before the update.
  const mark = async (id: string, status: 'superseded' | 'conflicting', action: string, by: Record<string, string>): Promise<AuditEntry> => {
    const [before] = await tx.execute<{ status: string }>(
      sql`update decision_events as changed set status = ${status} from decision_events as was where was.org_id = changed.org_id and was.id = changed.id and changed.id = ${id} returning was.status`,
    );
    return { action, targetType: 'decision_event', targetId: id, data: { before: { status: before?.status ?? null }, after: { status }, ...by } };
  };
  let earlier: AuditEntry | undefined;
  if (input.supersedes) earlier = await mark(input.supersedes, 'superseded', 'decision_event.supersede', { supersededBy: row!.id });
  if (input.conflictsWith) earlier = await mark(input.conflictsWith, 'conflicting', 'decision_event.conflict', { conflictingEvent: row!.id });
  const event = toDecisionEvent(row!);
  await queueIndex(tx, { type: 'decision_event', id: event.id });
  return { event, audit: { action: 'decision_event.create', targetType: 'decision_event', targetId: event.id, data: { after: event } }, earlier };
}
