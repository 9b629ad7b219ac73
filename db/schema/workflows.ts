import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';
import { projects } from './projects.ts';

export const workflowStatuses = ['draft', 'active', 'archived'] as const;
export const stepKinds = ['review', 'approval', 'automated'] as const;
export const runStatuses = ['running', 'completed', 'rejected'] as const;

export interface WorkflowStep {
  name: string;
  kind: (typeof stepKinds)[number];
  requiredRole: 'owner' | 'admin' | 'member';
}

/** A named definition of governed steps in a project; its steps live in versions. */
export const workflows = pgTable(
  'workflows',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    name: text('name').notNull(),
    status: text('status', { enum: workflowStatuses }).notNull().default('draft'),
    currentVersion: integer('current_version').notNull().default(1),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.projectId], foreignColumns: [projects.orgId, projects.id], name: 'workflows_project_fk' }).onDelete('cascade'),
    index('workflows_org_project_idx').on(t.orgId, t.projectId, t.createdAt.desc()),
    check('workflows_status_check', sql`${t.status} in ('draft', 'active', 'archived')`),
  ],
);

/** Every version a workflow had; editing an active workflow adds one, earlier ones stay readable. */
export const workflowVersions = pgTable(
  'workflow_versions',
  {
    orgId: orgIdColumn(),
    workflowId: uuid('workflow_id').notNull(),
    version: integer('version').notNull(),
    steps: jsonb('steps').$type<WorkflowStep[]>().notNull(),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.workflowId, t.version] }),
    foreignKey({ columns: [t.orgId, t.workflowId], foreignColumns: [workflows.orgId, workflows.id], name: 'workflow_versions_workflow_fk' }).onDelete('cascade'),
  ],
);

/** One pass through a workflow version, step by step. */
export const workflowRuns = pgTable(
  'workflow_runs',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    workflowId: uuid('workflow_id').notNull(),
    version: integer('version').notNull(),
    status: text('status', { enum: runStatuses }).notNull().default('running'),
    currentStep: integer('current_step').notNull().default(0),
    startedBy: text('started_by'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.workflowId, t.version],
      foreignColumns: [workflowVersions.orgId, workflowVersions.workflowId, workflowVersions.version],
      name: 'workflow_runs_version_fk',
    }).onDelete('cascade'),
    index('workflow_runs_org_workflow_idx').on(t.orgId, t.workflowId, t.createdAt.desc()),
    index('workflow_runs_version_idx').on(t.orgId, t.workflowId, t.version),
    check('workflow_runs_status_check', sql`${t.status} in ('running', 'completed', 'rejected')`),
  ],
);
