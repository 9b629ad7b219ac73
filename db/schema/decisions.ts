import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';
import { projects } from './projects.ts';
import { workflowRuns } from './workflows.ts';

export const decisionKinds = ['decision', 'learning', 'progress', 'preference'] as const;
export const decisionStatuses = ['active', 'superseded', 'conflicting', 'archived'] as const;

/**
 * Append-only records of decisions. Corrections are new events that supersede
 * earlier ones; contradictions are new events that conflict with them (both
 * are then conflicting, each until it is superseded or archived). Only the
 * status of an event ever changes. References are composite, so an event can
 * only point at a project or an event of its own organization, whatever the
 * ids say.
 */
export const decisionEvents = pgTable(
  'decision_events',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    kind: text('kind', { enum: decisionKinds }).notNull(),
    title: text('title').notNull(),
    rationale: text('rationale'),
    outcome: text('outcome'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    metadata: jsonb('metadata').notNull().default({}),
    status: text('status', { enum: decisionStatuses }).notNull().default('active'),
    supersedes: uuid('supersedes'),
    /** The earlier event of the project this one contradicts (recorded conflicting, and that one set conflicting). */
    conflictsWith: uuid('conflicts_with'),
    /** Set when the event records a workflow step's completion or rejection. */
    workflowRunId: uuid('workflow_run_id'),
    workflowStep: integer('workflow_step'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.projectId], foreignColumns: [projects.orgId, projects.id], name: 'decision_events_project_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.supersedes], foreignColumns: [t.orgId, t.id], name: 'decision_events_supersedes_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.conflictsWith], foreignColumns: [t.orgId, t.id], name: 'decision_events_conflicts_with_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.workflowRunId], foreignColumns: [workflowRuns.orgId, workflowRuns.id], name: 'decision_events_run_fk' }).onDelete('cascade'),
    index('decision_events_org_project_created_idx').on(t.orgId, t.projectId, t.createdAt.desc(), t.id.desc()),
    index('decision_events_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    // Foreign keys are looked up from the referenced side on every delete (cascades, org deletion).
    index('decision_events_supersedes_idx').on(t.orgId, t.supersedes).where(sql`${t.supersedes} is not null`),
    index('decision_events_conflicts_with_idx').on(t.orgId, t.conflictsWith).where(sql`${t.conflictsWith} is not null`),
    index('decision_events_run_idx').on(t.orgId, t.workflowRunId).where(sql`${t.workflowRunId} is not null`),
    check('decision_events_kind_check', sql`${t.kind} in ('decision', 'learning', 'progress', 'preference')`),
    check('decision_events_status_check', sql`${t.status} in ('active', 'superseded', 'conflicting', 'archived')`),
    // An event replaces an earlier one or contradicts it, not both.
    check('decision_events_supersedes_or_conflicts_check', sql`${t.supersedes} is null or ${t.conflictsWith} is null`),
  ],
);
